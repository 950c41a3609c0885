"""Beyond one machine's dist/: merge, deploy, containers, CI workflows."""
