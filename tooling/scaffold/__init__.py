"""Starting a project: ``crossmatrix init`` writes its settings table."""
