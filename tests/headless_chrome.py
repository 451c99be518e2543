"""Headless Chromium for the tests that render DecorLens's pages (shoppable pages, the catalog map page): one
place that finds the browser and its driver and starts it the same way (selenium-manager never downloads one).
Five test files each carried a copy of this."""

from __future__ import annotations

import shutil
from typing import Any

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
CHROMEDRIVER = shutil.which("chromedriver")
MISSING = "Chromium is missing: apt-get install chromium chromium-driver"
ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars")
# A phone: touch, no hover, a coarse pointer (CSS media features, as a phone's browser reports them)
PHONE_MEDIA = ({"name": "hover", "value": "none"}, {"name": "any-hover", "value": "none"},
               {"name": "pointer", "value": "coarse"})
CALM = ({"name": "prefers-reduced-motion", "value": "reduce"},)  # no transitions caught halfway in a screenshot


def chrome(*media: dict[str, str], log_console: bool = False) -> Any:
    """A headless Chromium (a selenium ``webdriver.Chrome``), the CSS media ``media`` emulated; with ``log_console``
    its console kept for ``get_log("browser")``. The caller quits it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ARGS:
        options.add_argument(arg)
    if log_console:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    if media:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": list(media)})
    return driver


def phone(*media: dict[str, str]) -> Any:
    """``chrome`` as a phone: touch events on, ``PHONE_MEDIA`` and ``media`` emulated."""
    driver = chrome(*PHONE_MEDIA, *media)
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5})
    return driver
