"""DMN decision tables: import with FEEL translated into the safe expression language, and evaluation."""
