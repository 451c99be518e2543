"""The windows and dialogs the menus open: settings, batch tagging, training, review, about."""
