"""`perfscan import-text` on the real seed documents, through the real command line."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from pipeline.cli import main
from tests.conftest import seed


def read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name} must be UTF-8 with BOM for Excel"
    return list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))


def import_seeds(tmp_path: Path, *prefixes: str) -> Path:
    out = tmp_path / "out"
    assert main(["import-text", *map(str, (seed(p) for p in prefixes)), "--out", str(out)]) == 0
    return out


def rows_of(out: Path, table: str, prefix: str) -> list[dict[str, str]]:
    doc_id = next(d["doc_id"] for d in read_csv(out / "documents.csv") if Path(d["source_path"]).name.startswith(prefix))
    return [r for r in read_csv(out / f"{table}.csv") if r["doc_id"] == doc_id]


def test_seed_000_indicators_funding_and_header(tmp_path):
    out = import_seeds(tmp_path, "000")
    doc = read_csv(out / "documents.csv")[0]
    assert doc["unit_name"] == "上海市闵行区虹桥镇社区党群服务中心"
    assert doc["year"] == "2024" and doc["form_type"] == "unit_overall"
    assert (doc["total_max_score"], doc["total_score"], doc["grade"]) == ("100.00", "100.00", "优")
    inds = read_csv(out / "indicators.csv")
    assert len(inds) == 35
    assert sum(Decimal(r["max_score"]) for r in inds) == Decimal("100.00")
    assert sum(Decimal(r["score"]) for r in inds) == Decimal("100.00")
    assert [r["seq"] for r in inds] == [str(i) for i in range(1, 36)]
    by_level1 = {}
    for r in inds:
        by_level1[r["level1"]] = by_level1.get(r["level1"], Decimal(0)) + Decimal(r["max_score"])
    assert by_level1 == {"投入管理指标": 30, "产出指标": 25, "效益指标": 35, "满意度指标": 10}
    # The 可持续影响指标 row is shifted one column left in the extraction: realigned, not lost.
    row = next(r for r in inds if r["level3"] == "长效管理机制健全性")
    assert (row["level2"], row["target"], row["actual"], row["score"]) == ("可持续影响指标", "建立健全", "达成指标", "7.00")
    # The 投入管理 note spans the block's 三级 column: each of its seven rows carries it, with no values.
    assert all(r["level3"].startswith("根据沪财绩") and not (r["target"] or r["actual"]) for r in inds[:7])
    first = inds[7]
    assert (first["target"], first["target_op"], first["target_value"], first["target_unit"]) == ("=0.00(个)", "=", "0.00", "个")

    funding = {r["item"]: r for r in read_csv(out / "funding.csv")}
    assert list(funding) == ["财政拨款", "其他资金", "基本支出", "项目支出"]
    assert (funding["财政拨款"]["budget"], funding["财政拨款"]["executed"], funding["财政拨款"]["execution_rate"]) == (
        "28855329.62", "28624853.82", "99.20")
    assert (funding["基本支出"]["budget"], funding["基本支出"]["executed"], funding["基本支出"]["execution_rate"]) == (
        "16712410.00", "16504145.44", "98.75")
    assert (funding["项目支出"]["budget"], funding["项目支出"]["executed"], funding["项目支出"]["execution_rate"]) == (
        "12142919.62", "12120708.38", "99.81")
    assert funding["其他资金"]["budget"] == "0.00" and funding["财政拨款"]["amount_unit"] == "元"


def test_seed_004_spaced_digits_and_level1_from_level2(tmp_path):
    out = import_seeds(tmp_path, "004")
    funding = {r["item"]: r for r in read_csv(out / "funding.csv")}
    assert (funding["财政拨款"]["budget"], funding["财政拨款"]["executed"], funding["财政拨款"]["execution_rate"]) == (
        "275112698.88", "274023314.42", "99.60")
    assert funding["基本支出"]["execution_rate"] == "94.48"
    assert funding["项目支出"]["executed"] == "265698283.50"
    inds = read_csv(out / "indicators.csv")
    # Page 1's 数量指标 rows carry no 一级 label in the text (it is printed on page 2 only):
    # they belong to 产出指标 because 数量指标 does, not to the 投入管理 block above them.
    quantity = [r for r in inds if r["level2"] == "数量指标"]
    assert len(quantity) == 13 and {r["level1"] for r in quantity} == {"产出指标"}
    assert quantity[0]["level3"] == "社区工作者培训工作完成率"  # wrapped name joined
    assert quantity[0]["max_score"] == "1.00"
    assert {r["level1"] for r in inds if r["level2"] == "社会效益指标"} == {"效益指标"}
    assert read_csv(out / "documents.csv")[0]["total_score"] == ""  # the 总分 row is empty on the form


def test_seed_001_ocr_text_is_corrected(tmp_path):
    out = import_seeds(tmp_path, "001")
    doc = read_csv(out / "documents.csv")[0]
    assert doc["form_type"] == "project"
    funding = {r["item"]: r for r in read_csv(out / "funding.csv")}
    grant = funding["当年财政拨款"]
    assert (grant["initial_budget"], grant["budget"], grant["executed"], grant["amount_unit"]) == (
        "459.80", "823.00", "823.00", "万元")
    total = funding["年度资金总额"]
    assert (total["execution_rate"], total["max_score"], total["score"]) == ("100.00", "10.00", "10.00")
    assert funding["上年结转资金"]["budget"] == "0.00" and funding["其他资金"]["executed"] == "0.00"
    inds = {r["level3"]: r for r in read_csv(out / "indicators.csv")}
    assert "两新党组织书记、信息员单次人员补贴标准" in inds  # joined across the wrap
    assert inds["中心设备及环境维护完成数"]["target"] == "=2.00(项)"  # 項 → 项
    assert inds["“双报到”“双报告”完成率"]["score"] == "0.5"  # `0. 5`
    assert inds["基层各类党组织活动、建设成本"]["actual"] == "6032343.09"
    cut = inds["“双报到”“双报告”质量达标率"]  # cut by the page break: kept and flagged
    assert cut["needs_review"] == "true" and cut["score"] == ""
    kinds = {r["kind"] for r in read_csv(out / "corrections.csv")}
    assert {"traditional_to_simplified", "lexicon", "spaced_digits", "wrap_join"} <= kinds
    lexicon = [r for r in read_csv(out / "corrections.csv") if r["kind"] == "lexicon"]
    assert any("拨款" in r["corrected"] and "授款" in r["raw"] for r in lexicon)


def test_seed_003_report_facts(tmp_path):
    out = import_seeds(tmp_path, "003")
    facts = {r["key"]: r for r in read_csv(out / "facts.csv")}
    expected = {
        "staff_count": ("35", "人"), "total_budget": ("2885.53", "万元"),
        "fiscal_appropriation": ("2885.53", "万元"), "basic_expenditure": ("1671.24", "万元"),
        "personnel_expenditure": ("1629.26", "万元"), "public_expenditure": ("41.98", "万元"),
        "project_expenditure": ("1214.29", "万元"), "initial_budget": ("2381.12", "万元"),
        "budget_adjustment": ("504.41", "万元"), "executed": ("2862.49", "万元"),
        "execution_rate": ("99.20", "%"),
    }
    claims = {"satisfaction_rate": ("90", "%"), "coverage_rate": ("100", "%")}  # 满意度超过 90%, 覆盖率达到 100%
    assert {k: (v["value"], v["unit"]) for k, v in facts.items()} == expected | claims
    assert "99.20%" in facts["execution_rate"]["text"]
    assert facts["satisfaction_rate"]["text"].endswith("满意度超过90%。")


def test_rerun_replaces_rows_never_duplicates(tmp_path):
    out = import_seeds(tmp_path, "000")
    assert main(["import-text", str(seed("000")), "--out", str(out), "--force"]) == 0
    assert len(read_csv(out / "indicators.csv")) == 35
    assert len(read_csv(out / "documents.csv")) == 1


def test_malformed_text_inputs_fail_alone_and_other_text_is_skipped(tmp_path, caplog):
    bad = tmp_path / "in"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (bad / "columns.txt").write_text("a\tb\tc\n1\t2\t3\n", encoding="utf-8")
    (bad / "unknown.txt").write_text("会议纪要\n\n今天开会。\n", encoding="utf-8")
    good = seed("000")
    out = tmp_path / "out"
    code = main(["import-text", str(bad), str(good), "--out", str(out)])
    assert code == 2
    docs = {Path(d["source_path"]).name: d for d in read_csv(out / "documents.csv")}
    assert docs[good.name]["status"] == "ok"
    for name, reason in (("empty.txt", "empty"), ("binary.txt", "binary")):
        assert docs[name]["status"] == "failed", name
        assert reason in docs[name]["message"], docs[name]["message"]
    # Readable, but not forms: skipped, saying what was there; they alone would not fail the run.
    assert docs["columns.txt"]["message"] == "not a form perfscan knows: 1 page, no table, first text “a”"
    assert docs["unknown.txt"]["message"] == "not a form perfscan knows: 2 pages, no table, first text “会议纪要”"
    assert docs["columns.txt"]["status"] == docs["unknown.txt"]["status"] == "skipped"
    assert main(["import-text", str(bad / "columns.txt"), str(bad / "unknown.txt"), "--out", str(tmp_path / "o2")]) == 0
    assert len(read_csv(out / "indicators.csv")) == 35


def test_bad_arguments_exit_1(tmp_path):
    assert main(["import-text", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "o")]) == 1
    assert main(["frobnicate"]) == 1
