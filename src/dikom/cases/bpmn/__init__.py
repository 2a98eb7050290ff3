"""BPMN 2.0 process definitions of case workflows: import, checks, diagram, execution."""
