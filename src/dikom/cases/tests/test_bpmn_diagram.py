"""The process diagram: SVG from BPMNDI, highlighting, escaping, accessibility, no-layout fallback."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import translation
from lxml import etree

from dikom.cases.bpmn.diagram import render, text_alternative


@pytest.fixture(autouse=True)
def english_messages():
    """The messages checked here are the English msgids (the installation default is German)."""
    with translation.override("en"):
        yield


FIXTURES = Path(__file__).parent / "bpmn"
SVG = "{http://www.w3.org/2000/svg}"


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse(svg: str | None) -> etree._Element:
    assert svg is not None
    return etree.fromstring(svg.encode())


def nodes(root: etree._Element, kind: str) -> list[etree._Element]:
    return [g for g in root.iter(f"{SVG}g") if f"bpmn-{kind}" in (g.get("class") or "").split()]


def test_shapes_from_bpmndi():
    diagram = render(load("subsidy.bpmn"))
    root = parse(diagram.svg)
    assert root.tag == f"{SVG}svg"
    assert len(nodes(root, "userTask")) == 5
    assert len(nodes(root, "serviceTask")) == 1
    for task in nodes(root, "userTask"):
        rect = task.find(f"{SVG}rect")
        assert rect is not None
        assert rect.get("rx") == "10"
    assert len(nodes(root, "parallelGateway")) == 2
    assert all(g.find(f"{SVG}polygon") is not None for g in nodes(root, "exclusiveGateway"))
    assert len(nodes(root, "boundaryEvent")) == 2
    assert all(g.find(f"{SVG}circle") is not None for g in nodes(root, "startEvent") + nodes(root, "endEvent"))
    flows = [p for p in root.iter(f"{SVG}polyline") if "bpmn-sequenceFlow" in (p.get("class") or "")]
    assert len(flows) == 13
    assert all(p.get("marker-end") == "url(#bpmn-arrow)" for p in flows)
    labels = {"".join(t.itertext()) for t in root.iter(f"{SVG}text")}
    assert {"Funding office", "Building department", "Treasury", "City administration"} <= labels
    assert diagram.width > 1000


def test_active_and_completed_elements_are_highlighted():
    diagram = render(
        load("subsidy.bpmn"), active=["Task_TechReview", "Task_FinReview"], completed=["Task_PreCheck", "Start_Subsidy"]
    )
    root = parse(diagram.svg)
    active = {g.get("data-bpmn-id") for g in nodes(root, "active")}
    completed = {g.get("data-bpmn-id") for g in nodes(root, "completed")}
    assert active == {"Task_TechReview", "Task_FinReview"}
    assert completed == {"Task_PreCheck", "Start_Subsidy"}
    states = {item.id: item.state for item in diagram.items}
    assert states["Task_TechReview"] == "active"
    assert states["Task_PreCheck"] == "completed"
    assert "Technical review" in root.find(f"{SVG}desc").text


def test_accessible_title_description_and_text_alternative():
    diagram = render(load("parking_permit.bpmn"), active=["Task_Check"])
    root = parse(diagram.svg)
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert "Resident parking permit" in title.text
    lines = text_alternative(diagram)
    assert "User task: Check application (Road traffic office) – current step" in lines
    assert any(line.startswith("User task: Request missing information (Citizen service)") for line in lines)


def test_names_are_escaped_and_the_svg_is_inert():
    hostile = load("dog_tax.bpmn").replace(
        b'name="Review application"',
        b'name="&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot; onload=alert(2)"',
    )
    diagram = render(hostile)
    assert diagram.svg is not None
    root = parse(diagram.svg)
    for element in root.iter():
        assert etree.QName(element).localname not in {"script", "foreignObject", "a", "style", "iframe"}
        for attribute in element.attrib:
            assert not attribute.lower().startswith("on")
            assert "href" not in attribute.lower()
    assert "<script>" not in diagram.svg
    assert "&lt;script&gt;" in diagram.svg
    texts = " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))
    assert "<script>alert(1)</script>" in texts


def test_a_file_without_layout_gets_a_message_and_the_step_list():
    diagram = render(load("zeebe_no_diagram.bpmn"))
    assert diagram.svg is None
    assert "no diagram layout" in str(diagram.message)
    assert [item.id for item in diagram.items if item.kind == "userTask"] == ["Activity_Sign"]


def test_unreadable_files_give_a_message():
    diagram = render(b'<!DOCTYPE x [<!ENTITY a "b">]><x/>')
    assert diagram.svg is None
    assert diagram.message


def test_vendor_export_renders_with_pools_and_message_flows():
    root = parse(render(load("camunda7_special_use.bpmn")).svg)
    assert len(nodes(root, "participant")) == 2
    assert len(nodes(root, "lane")) == 2
    message_flows = [p for p in root.iter(f"{SVG}polyline") if "bpmn-messageFlow" in (p.get("class") or "")]
    assert len(message_flows) == 1
    assert message_flows[0].get("stroke-dasharray")
