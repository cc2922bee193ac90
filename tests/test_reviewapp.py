"""`perfscan review` in a real headless Chromium, driven by the keyboard as a reviewer would: approve
two values, correct a third, then `perfscan rebuild` and a re-run show the correction everywhere."""

from __future__ import annotations

import json
import shutil
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pipeline.cli import main
from pipeline.config import load_config
from pipeline.outputs.reviewapp import serve
from tests.batchfiles import read_csv, text_form

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the test extra (pip install -e .[test])")

pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="chromium and chromium-driver not installed (make setup installs them)")


def flagged_form(inputs: Path) -> Path:
    """A unit form whose 培训完成率 row lost its 得分: the row is flagged (分值 or 得分 missing), the
    得分 is brought back by arithmetic (25.00) and the 三级 carries the S1 reading doubt."""
    inputs.mkdir(parents=True, exist_ok=True)
    path = inputs / "form.txt"
    path.write_text(text_form("复核单位").replace("25.00\t25.00\t", "25.00\t\t"), encoding="utf-8")
    return path


@pytest.fixture
def app(tmp_path):
    inputs, out = tmp_path / "in", tmp_path / "out"
    flagged_form(inputs)
    assert main(["import-text", str(inputs), "--out", str(out)]) == 0
    started = threading.Event()
    where: dict = {}

    def ready(url, server):
        where.update(url=url, server=server)
        started.set()

    thread = threading.Thread(target=serve, args=(out, load_config()),
                              kwargs={"port": 0, "reviewer": "王审核", "ready": ready}, daemon=True)
    thread.start()
    assert started.wait(30), "the review app did not start"
    yield where["url"], inputs, out
    where["server"].shutdown()
    thread.join(10)


@pytest.fixture
def browser(tmp_path):
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def _wait(driver, condition, timeout: float = 20):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: condition(d))


def _cell(driver, field: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f'section.cell[data-field="{field}"]')


def test_approve_and_correct_with_the_keyboard_then_rebuild_and_rerun(app, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, inputs, out = app
    browser.get(url)
    link = browser.find_element(By.CSS_SELECTOR, "#documents a")
    assert "0 of 3" in browser.find_element(By.ID, "documents").text
    link.click()
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "section.cell.current"))
    cells = browser.find_elements(By.CSS_SELECTOR, "section.cell")
    assert [c.get_attribute("data-field") for c in cells] == ["level3", "max_score", "score"]
    # each flagged value shows its row as context: the 三级 name, 分值 and 得分 of row 8
    assert "培训完成率" in _cell(browser, "score").find_element(By.CSS_SELECTOR, "table.context").text
    page = browser.find_element(By.TAG_NAME, "body")

    page.send_keys("a")  # approve the 三级 (the current value)
    _wait(browser, lambda d: "decided" in _cell(d, "level3").get_attribute("class"))
    _wait(browser, lambda d: "current" in _cell(d, "max_score").get_attribute("class"))
    page.send_keys(Keys.ENTER)  # Enter approves too
    _wait(browser, lambda d: "decided" in _cell(d, "max_score").get_attribute("class"))
    _wait(browser, lambda d: "current" in _cell(d, "score").get_attribute("class"))
    page.send_keys("c")  # correct the 得分 arithmetic put back: the form says 24.00
    answer = _cell(browser, "score").find_element(By.CSS_SELECTOR, "input.answer")
    _wait(browser, lambda d: d.switch_to.active_element == answer)
    answer.send_keys(Keys.CONTROL, "a")
    answer.send_keys("24.00", Keys.ENTER)
    _wait(browser, lambda d: "decided" in _cell(d, "score").get_attribute("class"))
    assert "corrected: 24.00 — 王审核" in _cell(browser, "score").text

    # a value that is no number is refused, and says why
    answer.send_keys(Keys.CONTROL, "a")
    answer.send_keys("二十四", Keys.ENTER)
    _wait(browser, lambda d: "not a plain decimal" in d.find_element(By.ID, "status").text)

    decisions = read_csv(out / "reviews.csv")
    assert [(d["seq"], d["field"], d["value"], d["decision"], d["reviewer"]) for d in decisions] == [
        ("8", "level3", "培训完成率", "approved", "王审核"),
        ("8", "max_score", "25.00", "approved", "王审核"),
        ("8", "score", "24.00", "corrected", "王审核"),
    ]
    assert all(d["time"].endswith("Z") and len(d["sha256"]) == 64 for d in decisions)

    assert main(["rebuild", str(out)]) == 0
    row = read_csv(out / "indicators.csv")[7]
    assert (row["seq"], row["score"], row["needs_review"]) == ("8", "24.00", "false")
    (doc,) = read_csv(out / "documents.csv")
    # the rules ran again on the reviewed values: Σ得分 99.00 against 总分 100.00, and 24.00 of 25.00 for a
    # target met, are now the form's own errors, no longer reading doubts (S1 went with the row's flag)
    assert doc["status"] == "needs_review" and doc["message"].startswith("2 errors (I2, I8)")
    assert "reading doubt" not in doc["message"] and "flagged row" not in doc["message"]
    sheet = load_workbook(out / "perfscan.xlsx")["indicators"]
    header = [c.value for c in sheet[1]]
    assert sheet.cell(9, header.index("score") + 1).value == 24
    record = json.loads((out / "records" / f"{doc['doc_id']}.json").read_text("utf-8"))
    prov = record["indicators"][7]["provenance"]["score"]
    assert (prov["source"], prov["extracted"]) == ("review", "25.00")
    assert record["status"] == "needs_review"

    # the app after the rebuild: the three decided, and what the correction brought up now to decide: the
    # 偏差原因 I8 asks for (24.00 of 25.00 for a target met) and the 总分 it leaves unmatched (I2)
    browser.get(url)
    assert "3 of 5" in browser.find_element(By.ID, "documents").text
    browser.find_element(By.CSS_SELECTOR, "#documents a").click()
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "section.cell.current"))
    assert "current" in _cell(browser, "deviation_reason").get_attribute("class")
    assert "I2" in _cell(browser, "totals.score").text

    # a re-run that reads the document again keeps the decisions
    assert main(["import-text", str(inputs), "--out", str(out), "--force"]) == 0
    row = read_csv(out / "indicators.csv")[7]
    assert (row["score"], row["needs_review"]) == ("24.00", "false")
    assert Decimal(load_workbook(out / "perfscan.xlsx")["indicators"].cell(9, header.index("score") + 1).value) == 24
