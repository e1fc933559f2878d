"""Where the course lives. A fork changes these lines, then runs `python3 course.py sync`."""

REPOSITORY = "https://github.com/spade-course/spade-course"
RELEASE = "v0.1.0"
