"""The catalog of relief materials (物资目录) and their categories."""
