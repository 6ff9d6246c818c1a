"""The refresh flow in a real headless Chromium: log in, preview, apply, open the run.

Needs Debian's `chromium` and `chromium-driver` packages (the driver comes from the same source
package as the browser, so their versions always match); without them the test is skipped.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.urls import reverse

from collections_app.models import Artifact
from refresher.models import RefreshRun

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
PASSWORD = "correct horse battery staple"  # what UserFactory gives every user
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--window-size=1400,1000",
]
WAIT_SECONDS = 15


@pytest.fixture
def screenshots(tmp_path) -> Path:
    """Where the test leaves its screenshots: $SCREENSHOT_DIR if set, else pytest's tmp dir."""
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser(request, screenshots):
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("Chromium not installed: apt-get install chromium chromium-driver")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    yield driver
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        driver.save_screenshot(str(screenshots / "failure.png"))
        (screenshots / "failure.html").write_text(driver.page_source)
        print(f"browser at failure: {driver.current_url}; page kept in {screenshots}")
    driver.quit()


@pytest.fixture
def site(live_server, settings) -> str:
    """The live server's base URL by address: the server listens on IPv4 only, and "localhost"
    may send the browser to ::1 first, where another process could hold the same port."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
    return live_server.url.replace("://localhost:", "://127.0.0.1:")


def test_refresh_metadata_preview_apply_and_run_page(
    browser, screenshots, site, operator, collection
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, WAIT_SECONDS)

    # Log in through the admin's own form.
    browser.get(site + reverse("admin:index"))
    wait.until(shown.presence_of_element_located((By.ID, "id_username")))
    browser.find_element(By.ID, "id_username").send_keys(operator.username)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "#login-form [type=submit]").click()
    wait.until(shown.presence_of_element_located((By.ID, "user-tools")))

    # Pick the collection and the action.
    browser.get(site + reverse("admin:collections_app_collection_changelist"))
    checkbox = wait.until(
        shown.element_to_be_clickable(
            (By.CSS_SELECTOR, f"input[name=_selected_action][value='{collection.pk}']")
        )
    )
    checkbox.click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("refresh_metadata")
    browser.find_element(By.CSS_SELECTOR, ".actions button[name=index]").click()

    # The preview names the change and has written nothing.
    wait.until(shown.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Refresh metadata"))
    page = browser.find_element(By.ID, "content-main").text
    assert "Our own words about PDFs" in page
    assert "Work with PDF files: pull out text and tables" in page
    assert Artifact.objects.get(name="pdf").description == "Our own words about PDFs"
    browser.save_screenshot(str(screenshots / "refresh-preview.png"))

    browser.find_element(By.CSS_SELECTOR, "input[type=submit][value=Apply]").click()
    message = wait.until(
        shown.visibility_of_element_located((By.CSS_SELECTOR, ".messagelist .success"))
    )
    assert "2 refreshed, 0 unchanged, 0 skipped, 0 errors" in message.text
    assert Artifact.objects.get(name="pdf").description.startswith("Work with PDF files")

    message.find_element(By.LINK_TEXT, "View the run").click()
    wait.until(shown.presence_of_element_located((By.ID, "run-entries")))
    run = RefreshRun.objects.get(dry_run=False)
    assert browser.current_url.endswith(reverse("admin:refresher_refreshrun_change", args=[run.pk]))
    entries = browser.find_element(By.ID, "run-entries").text
    assert "Entries (2)" in entries
    assert "skill:pdf" in entries and "Release Tools Team" in entries
    # The whole page, not just the first screenful.
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1400, height)
    browser.save_screenshot(str(screenshots / "refresh-run.png"))
