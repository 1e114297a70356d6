"""The course room: its own tooling, not lesson material.

run (`python -m helpers.course.run`: execute the notebooks, write the report), classroom (student
editions, nbgrader), nbclean (authoring: strip outputs, refresh the checked ones).
"""
