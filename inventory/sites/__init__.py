"""Sites: the county depot, town storage rooms, village points and agreement sites, as a tree."""
