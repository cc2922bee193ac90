"""Rule checks: consistent documents pass, planted violations are found by the rule meant for them,
and the real seeds report their real artefacts and nothing else.

The hand-built documents below carry the seeds' own figures (000 in full; a project form with seed
001's money block), so these tests run even where the seed files are not available.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import pytest

from pipeline.checks.cells import Ref
from pipeline.checks.cross import cross_check
from pipeline.checks.registry import REGISTRY, SEVERITY_OF_BASIS, check
from pipeline.forms.catalog import default_catalogue, load_catalogue
from pipeline.records import Document, Fact, FundingLine, Header, Indicator, Totals
from tests.benchmark.scoring import truth_documents
from tests.conftest import REPO, seed

D = Decimal
MEASURE = re.compile(r"^(=|≥|≤|>|<)?(\d+(?:\.\d+)?)\(?([^)]*)\)?$")


def measure(text: str) -> tuple[str, Decimal | None, str]:
    """(op, value, unit) of a hand-written 指标值 / 完成值 such as `=6.00(个)` or `≤50000元`."""
    m = MEASURE.match(text)
    return (m.group(1) or "", D(m.group(2)), m.group(3)) if m else ("", None, "")


def row(seq: int, level1: str, level2: str, level3: str, target: str, actual: str, mx: str, sc: str,
        weight: str | None = None, reason: str = "") -> Indicator:
    t_op, t_val, t_unit = measure(target)
    _, a_val, a_unit = measure(actual)
    return Indicator(
        seq=seq, page=1, level1=level1, level1_weight=D(weight) if weight else None, level2=level2,
        level3=level3, target=target, target_op=t_op, target_value=t_val, target_unit=t_unit,
        actual=actual, actual_value=a_val, actual_unit=a_unit, max_score=D(mx), score=D(sc),
        deviation_reason=reason,
    )


# --- seed 000: 部门（单位）整体支出绩效自评表, every rule passes -----------------------------------

INPUT_000 = [("预算编审管理", "7.50"), ("预算执行管理", "10.20"), ("预算绩效管理", "4.50"), ("资产管理", "0.90"),
             ("预算透明度", "3.00"), ("内部控制管理", "2.40"), ("预算信息化", "1.50")]
ROWS_000 = [
    ("产出指标", "数量指标", "人才系列计划工作完成率", "=0.00(个)", "0.00(个)", "1.00"),
    ("产出指标", "数量指标", "“两新”党员区域集中党课参与人数", "=0.00(个)", "0.00(个)", "1.00"),
    ("产出指标", "数量指标", "上级交办任务完成率", "=0.00(个)", "0.00(个)", "1.00"),
    ("产出指标", "数量指标", "党建服务站运营保障数", "=0.00(个)", "0.00(个)", "1.00"),
    ("产出指标", "数量指标", "区域扶持补贴完成数", "=6.00(个)", "6.00(个)", "2.00"),
    ("产出指标", "数量指标", "建党100周年系列活动开展完成率", "=0.00(个)", "0.00(个)", "1.00"),
    ("产出指标", "数量指标", "展区版块维护数", "=6.00(个)", "6.00(个)", "2.00"),
    ("产出指标", "数量指标", "“两新”培训人次", "=0.00(个)", "0.00(个)", "1.00"),
    ("产出指标", "数量指标", "社区党校工作完成率", "=0.00(个)", "0.00(个)", "1.00"),
    ("产出指标", "数量指标", "电子设备维护数", "=0.00(个)", "0.00(个)", "1.00"),
    *[("产出指标", "质量指标", n, "合格", "达成指标", "1.00") for n in (
        "电子设备完好率", "党建服务站运营考核达标率", "信息化建设验收合格率", "第三方运维服务验收合格性",
        "培训对象考核合格率", "讲师资质达标率")],
    ("产出指标", "时效指标", "定期维护服务及时性", "及时", "达成指标", "1.00"),
    ("产出指标", "时效指标", "系统设备故障处置及时性", "及时", "达成指标", "1.00"),
    ("产出指标", "时效指标", "信息化建设及时性", "及时", "达成指标", "1.00"),
    ("产出指标", "时效指标", "党建服务站点更新维护及时性", "及时", "达成指标", "2.00"),
    ("产出指标", "时效指标", "金虹桥书记工作室培训及时性", "每季度", "达成指标", "1.00"),
    ("产出指标", "时效指标", "电动车梯控系统改造完成及时性", "及时", "达成指标", "1.00"),
    ("效益指标", "社会效益指标", "服务群众水平提升", "提升", "达成指标", "7.00"),
    ("效益指标", "社会效益指标", "党员工作能力和效率提升", "提升", "达成指标", "7.00"),
    ("效益指标", "社会效益指标", "培训对象能力提升", "提升", "达成指标", "7.00"),
    ("效益指标", "社会效益指标", "“两新”党员党课学习覆盖率", "合格", "达成指标", "7.00"),
    ("效益指标", "可持续影响指标", "长效管理机制健全性", "建立健全", "达成指标", "7.00"),
    ("满意度指标", "服务对象满意度指标", "群众满意度", "合格", "达成指标", "10.00"),
]
WEIGHTS = {"投入管理指标": "30", "产出指标": "25", "效益指标": "35", "满意度指标": "10"}


def unit_doc() -> Document:
    """Seed 000 as the text route reads it."""
    inds = [row(k, "投入管理指标", l2, "", "", "", mx, mx, weight="30") for k, (l2, mx) in enumerate(INPUT_000, 1)]
    inds += [row(k, l1, l2, l3, t, a, mx, mx, weight=WEIGHTS[l1])
             for k, (l1, l2, l3, t, a, mx) in enumerate(ROWS_000, len(inds) + 1)]
    money = [("财政拨款", "28855329.62", "28624853.82", "99.20"), ("其他资金", "0.00", "0.00", "0.00"),
             ("基本支出", "16712410.00", "16504145.44", "98.75"), ("项目支出", "12142919.62", "12120708.38", "99.81")]
    return Document(
        doc_id="05d1f2a9e04e411b", source_path="000.txt", sha256="0" * 64, pages=1,
        header=Header(form_type="unit_overall", year=2024, unit_name="上海市闵行区虹桥镇社区党群服务中心"),
        funding=[FundingLine(item=i, budget=D(b), executed=D(e), execution_rate=D(r)) for i, b, e, r in money],
        indicators=inds,
        totals=Totals(max_score=D("100.00"), score=D("100.00")),
    )


# --- a project form with seed 001's money block (万元), its sums holding ---------------------------

def project_doc() -> Document:
    cost, out, eff, sat = "成本指标", "产出指标", "效益指标", "满意度指标"
    inds = [
        row(1, cost, "经济成本指标", "党员志愿服务活动成本", "≤50000元", "45000元", "4", "4"),
        row(2, cost, "经济成本指标", "进博会专项服务工作成本", "≤300000元", "290000元", "3", "3"),
        row(3, cost, "经济成本指标", "社区党校工作成本", "≤270000元", "255327.72元", "3", "3"),
        row(4, out, "数量指标", "社区党校教学培训活动完成率", "=100.00(%)", "100(%)", "5", "5"),
        row(5, out, "数量指标", "党群服务站建设数量", "=15.00(个)", "15(个)", "5", "5"),
        row(6, out, "数量指标", "“双报到”“双报告”完成率", "≥90.00(%)", "81(%)", "10", "9.00",
            reason="部分社区报到未完成"),
        row(7, out, "质量指标", "社区党校党课项目实施达标率", "=100.00(%)", "100(%)", "10", "10"),
        row(8, out, "时效指标", "中心服务活动完成及时性", "及时", "达成指标", "10", "10"),
        row(9, eff, "社会效益指标", "基层治理水平", "提升", "达成指标", "15", "15"),
        row(10, eff, "社会效益指标", "党员教育覆盖率", "≥95.00(%)", "96.00(%)", "15", "15"),
        row(11, sat, "服务对象满意度指标", "群众满意度", "≥90.00(%)", "93.00(%)", "10", "10"),
    ]
    money = [
        FundingLine(item="年度资金总额", amount_unit="万元", initial_budget=D("459.80"), budget=D("823.00"),
                    executed=D("823.00"), execution_rate=D("100.00"), max_score=D("10.00"), score=D("10.00")),
        FundingLine(item="当年财政拨款", amount_unit="万元", initial_budget=D("459.80"), budget=D("823.00"),
                    executed=D("823.00"), execution_rate=D("100.00")),
        *[FundingLine(item=i, amount_unit="万元", initial_budget=D("0.00"), budget=D("0.00"), executed=D("0.00"),
                      execution_rate=D("0.00")) for i in ("上年结转资金", "其他资金")],
    ]
    return Document(
        doc_id="f8a90715ee62d510", source_path="001.txt", sha256="1" * 64, pages=1,
        header=Header(form_type="project", year=2024, project_name="社区党建专项",
                      supervising_dept="上海市闵行区新虹街道", unit_name="上海市闵行区新虹街道社区党群服务中心"),
        funding=money, indicators=inds, totals=Totals(max_score=D("100"), score=D("99.00")),
    )


# --- seed 003: the narrative report of 000's unit ---------------------------------------------------

FACTS_003 = [("staff_count", "35", "人"), ("total_budget", "2885.53", "万元"),
             ("fiscal_appropriation", "2885.53", "万元"), ("basic_expenditure", "1671.24", "万元"),
             ("personnel_expenditure", "1629.26", "万元"), ("public_expenditure", "41.98", "万元"),
             ("project_expenditure", "1214.29", "万元"), ("initial_budget", "2381.12", "万元"),
             ("budget_adjustment", "504.41", "万元"), ("executed", "2862.49", "万元"),
             ("execution_rate", "99.20", "%")]


def report_doc() -> Document:
    return Document(
        doc_id="b754ca3e935b9476", source_path="003.txt", sha256="3" * 64,
        header=Header(form_type="report", year=2024, unit_name="虹桥镇社区党群服务中心"),
        facts=[Fact(key=k, value=D(v), unit=u, text="") for k, v, u in FACTS_003],
    )


# --- helpers ----------------------------------------------------------------------------------------

def errors(doc: Document) -> list[str]:
    return [f.rule_id for f in check(doc, default_catalogue()) if f.severity == "error"]


def set_row(doc: Document, seq: int, **update) -> Document:
    return doc.model_copy(update={"indicators": [
        i.model_copy(update=update) if i.seq == seq else i for i in doc.indicators]})


def set_line(doc: Document, item: str, **update) -> Document:
    return doc.model_copy(update={"funding": [
        f.model_copy(update=update) if f.item == item else f for f in doc.funding]})


def set_fact(doc: Document, key: str, value: str) -> Document:
    return doc.model_copy(update={"facts": [
        f.model_copy(update={"value": D(value)}) if f.key == key else f for f in doc.facts]})


# --- registry -----------------------------------------------------------------------------------------

def test_registry_ids_severities_and_config():
    expected = {"H1", "H2", "F1", "F2", "F3", "F5", "P1", "P2", "P3", "P5", "P6", "P7", *(f"I{k}" for k in range(1, 14)),
                "G1", *(f"S{k}" for k in range(1, 7)), *(f"X{k}" for k in range(10))}
    assert set(REGISTRY) == expected  # every id findings.csv can hold, the cross-document X0–X5 included
    order = [rule_id for rule_id in REGISTRY if rule_id[0] != "X"]  # findings are listed in registry order
    assert order[:12] == ["H1", "H2", "F1", "F2", "F3", "F5", "P1", "P2", "P3", "P5", "P6", "P7"]
    assert order[12:] == [*(f"I{k}" for k in range(1, 14)), "G1", *(f"S{k}" for k in range(1, 7))]
    assert [r for r in REGISTRY if r[0] == "X"] == ["X6", "X7", "X8", "X9", "X0", "X1", "X2", "X3", "X4", "X5"]
    for rule in REGISTRY.values():
        assert rule.severity == SEVERITY_OF_BASIS[rule.basis]
        assert rule.fn is None or rule.fn.__doc__  # a per-document rule says what it checks
    assert {r.id for r in REGISTRY.values() if r.fn is None} == {f"X{k}" for k in range(6)}
    assert REGISTRY["X0"].severity == "warning" and REGISTRY["X1"].severity == "error"
    catalogue = default_catalogue()
    for rule_id in catalogue.unrecognised_rules + [r for spec in catalogue.forms.values() for r in spec.rules]:
        assert REGISTRY[rule_id].fn is not None, rule_id  # the catalogue names only registered document rules
    assert REGISTRY["I6"].severity == REGISTRY["I13"].severity == "warning"  # [MEMORY] rules only warn
    assert REGISTRY["I8"].severity == REGISTRY["F1"].severity == "error"
    forms = load_catalogue(REPO / "configs" / "forms.yaml")
    assert sum(g.weight for g in forms.forms["unit_overall"].level1_groups) == 100
    assert sum(forms.forms["unit_overall"].input_template.level2.values()) == 30


def test_bad_forms_config_is_a_usage_error(tmp_path):
    from pipeline.errors import UsageError

    bad = tmp_path / "forms.yaml"
    bad.write_text("grades: 3\n", encoding="utf-8")
    with pytest.raises(UsageError):
        load_catalogue(bad)


# --- consistent documents -------------------------------------------------------------------------

@pytest.mark.parametrize("build", [unit_doc, project_doc, report_doc])
def test_consistent_documents_have_no_errors(build):
    assert errors(build()) == []


def test_consistent_project_has_no_findings_at_all():
    assert check(project_doc(), default_catalogue()) == []


def test_input_is_not_mutated():
    doc = unit_doc()
    before = doc.model_dump()
    check(set_row(doc, 3, score=D("9")), default_catalogue())
    assert doc.model_dump() == before


# --- planted violations ---------------------------------------------------------------------------

def _drop_reason(doc: Document) -> Document:
    return set_row(doc, 6, deviation_reason="")


def _shift_weights(doc: Document) -> Document:
    """投入管理 template broken, its sum kept: 7.50/10.20 → 8.50/9.20."""
    return set_row(set_row(doc, 1, max_score=D("8.50"), score=D("8.50")), 2, max_score=D("9.20"), score=D("9.20"))


def _grade_slip(doc: Document) -> Document:
    """总分 printed 89.00 (良) while the rows add up to 100 (优)."""
    return doc.model_copy(update={"totals": Totals(max_score=D("100.00"), score=D("89.00"))})


PLANTS: list[tuple[str, Callable[[], Document], Callable[[Document], Document], set[str]]] = [
    ("score above 分值", unit_doc, lambda d: set_row(d, 8, score=D("1.50")), {"I4"}),
    ("negative score", unit_doc, lambda d: set_row(d, 9, score=D("-1.00")), {"I4"}),
    ("分值 off by 0.5", unit_doc, lambda d: set_row(d, 30, max_score=D("7.50"), score=D("7.50")), {"I1", "I3"}),
    ("总分 分值 off by 0.5", unit_doc, lambda d: d.model_copy(
        update={"totals": Totals(max_score=D("100.50"), score=D("100.00"))}), {"I1"}),
    ("得分 total off by 0.5", unit_doc, lambda d: d.model_copy(
        update={"totals": Totals(max_score=D("100.00"), score=D("99.50"))}), {"I2"}),
    ("wrong 执行率 (整体)", unit_doc, lambda d: set_line(d, "基本支出", execution_rate=D("97.75")), {"F1"}),
    ("wrong 执行率 (项目)", project_doc, lambda d: set_line(d, "当年财政拨款", execution_rate=D("99.00")), {"P2"}),
    ("missing deviation reason", project_doc, _drop_reason, {"I8"}),
    ("funding total mismatch (整体)", unit_doc,
     lambda d: set_line(d, "财政拨款", budget=D("28865329.62"), execution_rate=D("99.16")), {"F2"}),
    ("funding total mismatch (项目)", project_doc, lambda d: set_line(d, "其他资金", initial_budget=D("5.00")), {"P1"}),
    ("digit flipped in an amount", unit_doc, lambda d: set_line(d, "基本支出", executed=D("16504745.44")), {"F2"}),
    ("unit mismatch", project_doc, lambda d: set_row(d, 5, actual="15(项)", actual_unit="项"), {"I11"}),
    ("actual copied from target", project_doc, lambda d: set_row(d, 10, actual="≥95.00(%)"), {"I10"}),
    ("grade/total mismatch", unit_doc, _grade_slip, {"G1", "I2"}),
    ("wrong 执行率得分", project_doc, lambda d: set_line(d, "年度资金总额", score=D("9.00")), {"P3"}),
    ("执行率分值 not 10", project_doc,
     lambda d: set_line(d, "年度资金总额", max_score=D("20.00"), score=D("20.00")), {"P5", "I1"}),
    ("投入管理 template", unit_doc, _shift_weights, {"I5"}),
    ("qualitative score out of band", unit_doc,
     lambda d: set_row(d, 31, score=D("4.00"), deviation_reason="部分未完成"), {"I7"}),
    ("权重 misprinted", unit_doc, lambda d: set_row(d, 35, level1_weight=D("15")), {"I3"}),
    ("header without unit", unit_doc, lambda d: d.model_copy(update={"header": Header(
        form_type="unit_overall", year=2024)}), {"H1"}),
    ("总分 row lost", unit_doc, lambda d: d.model_copy(update={"totals": Totals()}), {"S2"}),
    ("executed above budget", project_doc, lambda d: set_line(
        set_line(d, "年度资金总额", executed=D("830.00"), execution_rate=D("100.85")),
        "当年财政拨款", executed=D("830.00"), execution_rate=D("100.85")), {"F5"}),
    ("proportional score ignored", project_doc, lambda d: set_row(d, 6, score=D("10"), deviation_reason=""), {"I6"}),
    ("full score with a reason", unit_doc, lambda d: set_row(d, 20, deviation_reason="无"), {"I9"}),
    ("target zero", project_doc, lambda d: set_row(d, 5, target="=0.00(个)", target_value=D("0.00")), {"I12"}),
    ("target mis-set", project_doc,
     lambda d: set_row(d, 5, target="=5.00(个)", target_value=D("5.00")), {"I13"}),
    ("二级 in the 一级 column", unit_doc, lambda d: set_row(d, 30, level1="社会效益指标"), {"S3"}),
    ("一级 contradicts 二级", unit_doc, lambda d: set_row(d, 8, level1="投入管理指标"), {"S5", "I3", "I5"}),
    ("row cut by a page break", unit_doc,
     lambda d: set_row(d, 35, score=None, needs_review=True, note="分值 or 得分 missing (page break)"), {"S1"}),
    ("score cell empty", unit_doc, lambda d: set_row(d, 12, score=None), {"S6"}),
    ("cost actuals above 执行数", project_doc,
     lambda d: set_row(d, 3, actual="9255327.72元", actual_value=D("9255327.72")), {"P6"}),
    ("report: 年初 + 调增 ≠ 调整后", report_doc, lambda d: set_fact(d, "budget_adjustment", "540.41"), {"X7"}),
    ("report: 基本 ≠ 人员 + 公用", report_doc, lambda d: set_fact(d, "public_expenditure", "14.98"), {"X8"}),
    ("report: 执行率 ≠ 执行/预算", report_doc, lambda d: set_fact(d, "execution_rate", "92.20"), {"X6"}),
]


@pytest.mark.parametrize("name,build,plant,expected", PLANTS, ids=[p[0] for p in PLANTS])
def test_planted_violation_is_found(name, build, plant, expected):
    clean = {f.rule_id for f in check(build(), default_catalogue())}
    findings = check(plant(build()), default_catalogue())
    found = {f.rule_id for f in findings}
    assert expected <= found, f"{name}: expected {expected}, found {found}"
    for f in findings:
        if f.rule_id in expected:
            assert f.message and (f.expected or f.observed), f
            assert f.severity == REGISTRY[f.rule_id].severity
    new_errors = {f.rule_id for f in findings if f.severity == "error"} - clean
    assert new_errors <= expected | {"I1", "I2", "I3", "I8", "F1", "F2", "F3", "X9"}, new_errors


def test_planted_violations_found_count():
    """The figure quoted in the report: every planted violation is found by its rule."""
    found = 0
    for _name, build, plant, expected in PLANTS:
        found += expected <= {f.rule_id for f in check(plant(build()), default_catalogue())}
    assert found == len(PLANTS) >= 12


def test_findings_point_at_their_cell():
    doc = set_row(unit_doc(), 8, score=D("1.50"))
    (i4,) = [f for f in check(doc, default_catalogue()) if f.rule_id == "I4"]
    assert (i4.seq, i4.field, i4.expected, i4.observed) == (8, "score", "0 – 1.00", "1.50")
    (f1,) = [f for f in check(set_line(unit_doc(), "项目支出", execution_rate=D("98.81")), default_catalogue())
             if f.rule_id == "F1"]
    assert f1.field == "funding.项目支出.execution_rate" and f1.expected.startswith("99.81")
    assert Ref.parse(None, f1.field) == Ref("funding", "项目支出", "execution_rate")
    assert Ref.parse(8, "score") == Ref("indicator", 8, "score") and Ref.parse(None, "max_score") is None


def test_rates_truncate_and_zero_over_zero():
    # 12,120,708.38 / 12,142,919.62 = 99.8171…: printed 99.81 (truncated) and 99.82 (rounded) both pass
    for stated in ("99.81", "99.82"):
        assert errors(set_line(unit_doc(), "项目支出", execution_rate=D(stated))) == []
    assert "F1" in errors(set_line(unit_doc(), "项目支出", execution_rate=D("99.80")))
    assert "F1" in errors(set_line(unit_doc(), "其他资金", executed=D("5.00")))  # x / 0 has no rate


def test_no_satisfaction_indicator_moves_its_weight_to_benefit():
    doc = project_doc()
    rows = [i for i in doc.indicators if i.level1 != "满意度指标"]
    rows[-1] = rows[-1].model_copy(update={"max_score": D("25"), "score": D("25")})  # 效益 15 + 25 = 40
    doc = doc.model_copy(update={"indicators": rows, "totals": Totals(max_score=D("100"), score=D("99.00"))})
    assert errors(doc) == []


# --- cross-document (report ↔ table) -------------------------------------------------------------------

def test_report_agrees_with_its_table():
    assert cross_check([unit_doc(), report_doc()]) == {}


def test_report_disagreeing_with_its_table_flags_both():
    report = set_fact(report_doc(), "basic_expenditure", "1617.24")
    out = cross_check([unit_doc(), report, project_doc()])
    assert {f.rule_id for f in out[report.doc_id]} >= {"X3"}
    (x3,) = [f for f in out[unit_doc().doc_id] if f.rule_id == "X3"]
    assert x3.field == "funding.基本支出.budget" and x3.expected == "1671.24" and x3.observed == "1617.24"
    assert x3.severity == "error"


def test_report_without_unit_name_says_it_was_not_compared():
    anonymous = report_doc().model_copy(update={"header": Header(form_type="report", year=2024)})
    (x0,) = cross_check([unit_doc(), anonymous])[anonymous.doc_id]
    assert (x0.rule_id, x0.severity, x0.field) == ("X0", "warning", "header.unit_name")


def test_report_of_another_year_or_unit_is_not_compared():
    other = report_doc().model_copy(update={"header": Header(form_type="report", year=2023,
                                                             unit_name="虹桥镇社区党群服务中心")})
    assert cross_check([unit_doc(), set_fact(other, "total_budget", "1.00")]) == {}
    stranger = report_doc().model_copy(update={"header": Header(form_type="report", year=2024, unit_name="别的单位")})
    assert cross_check([unit_doc(), set_fact(stranger, "total_budget", "1.00")]) == {}


@pytest.mark.parametrize("key,value,rule", [("total_budget", "2885.63", "X1"), ("fiscal_appropriation", "2855.53", "X2"),
                                            ("project_expenditure", "1241.29", "X4"), ("executed", "2826.49", "X5"),
                                            ("execution_rate", "99.02", "X6")])
def test_cross_rules(key, value, rule):
    report = set_fact(report_doc(), key, value)
    assert rule in {f.rule_id for f in cross_check([unit_doc(), report])[report.doc_id]}


# --- the real seeds, through the text route ---------------------------------------------------------

def seed_document(prefix: str) -> Document:
    from pipeline.config import load_config
    from pipeline.document import import_text

    return import_text(seed(prefix), load_config()).document


def test_seed_000_has_no_errors():
    assert errors(seed_document("000")) == []


def test_seed_004_reports_its_real_artefacts_and_nothing_else():
    findings = check(seed_document("004"), default_catalogue())
    assert Counter(f.rule_id for f in findings) == Counter({"I1": 1, "I3": 2, "S2": 1, "S4": 1, "S1": 10})
    # the ten 效益 rows whose 一级 label (and so its 权重) the extraction lost are flagged for it
    assert all("权重 not read" in f.observed for f in findings if f.rule_id == "S1")
    by = {(f.rule_id, f.observed.split()[0] if f.observed else ""): f for f in findings}
    assert by[("I1", "95.00")].expected == "100"             # Σ分值 95 ≠ 100
    assert {f.message.split(":")[0] for f in findings if f.rule_id == "I3"} == {"产出指标", "效益指标"}
    assert {f.observed for f in findings if f.rule_id == "I3"} == {"23.50", "31.50"}  # 产出 ≠ 25, 效益 ≠ 35
    (lost,) = [f for f in findings if f.rule_id == "S4"]
    assert "效益指标" in lost.message                          # the lost 效益 label
    assert ("S2", "") in by                                   # 总分 row empty


def test_seed_001_page1_funding_passes_and_deviations_are_explained():
    doc = seed_document("001")
    findings = check(doc, default_catalogue())
    ids = {f.rule_id for f in findings}
    assert not ids & {"P1", "P2", "P3", "P5", "I4", "I8"}     # money block holds; every 得分 < 分值 has a reason
    short = [i for i in doc.indicators if i.score is not None and i.max_score and i.score < i.max_score]
    assert len(short) == 3 and all(i.deviation_reason for i in short)
    # its real deviations: 得分 against the scoring rule, and the row cut by the page break
    assert {f.seq for f in findings if f.rule_id == "I6"} == {5, 11}
    assert [f.seq for f in findings if f.rule_id == "S1"] == [doc.indicators[-1].seq]


def test_seed_003_report_is_internally_consistent_and_matches_000():
    report, table = seed_document("003"), seed_document("000")
    assert errors(report) == []
    named = report.model_copy(update={"header": report.header.model_copy(update={"unit_name": "虹桥镇社区党群服务中心"})})
    assert cross_check([table, named]) == {}


# --- generated fixtures' ground truth ---------------------------------------------------------------

FIXTURES = REPO / "fixtures"


def _truths() -> list[tuple[str, bool]]:
    manifest = FIXTURES / "manifest.json"
    if not manifest.exists():
        return []
    return [(name, entry["consistent"]) for name, entry in sorted(json.loads(manifest.read_text("utf-8")).items())]


@pytest.mark.parametrize("name,consistent", _truths() or [pytest.param("", True, marks=pytest.mark.skip(
    reason="no fixtures/manifest.json in this checkout"))])
def test_fixture_truth(name, consistent):
    for doc in truth_documents(FIXTURES / "truth" / f"{name}.json"):
        if consistent:
            assert errors(doc) == []
        else:
            assert errors(doc), f"{name} is marked inconsistent but no rule fails"


def test_zero_incident_target_is_not_vacuous():
    doc = set_row(unit_doc(), 33, target="0发生", target_value=D("0"), target_unit="发生")
    assert "I12" not in {f.rule_id for f in check(doc, default_catalogue()) if f.seq == 33}
