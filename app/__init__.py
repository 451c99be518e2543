"""The DecorLens desktop app: a thin PySide6 shell over ``engine``.

Modules without Qt (``corrections``, ``scene_files``, ``palette``) own every file the app
reads or writes; the Qt modules only show things and start workers, as in labelme.
"""
