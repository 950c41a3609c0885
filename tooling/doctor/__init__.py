"""Reports: the dependency audit (inv doctor) and target readiness (inv targets)."""
