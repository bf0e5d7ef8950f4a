"""Exercise templates: declarative TOML descriptions of rehabilitation exercises.

Built-in templates ship in ``imurehab/exercises/templates/``; a physiotherapist writes a new one as a
TOML file in the same format (see ``docs/exercise-templates.md``) and loads it by path.

Examples
--------
>>> from imurehab.exercises import list_templates, load_template
>>> list_templates()[:3]
['ankle-pumps', 'elbow-flexion', 'heel-slide']
>>> load_template("seated-knee-extension").direction
'decrease'
"""

from imurehab.exercises.template import (
    DIRECTIONS,
    DOFS,
    JOINTS,
    MIDLINE_JOINTS,
    PLANES,
    POSES,
    REQUIRED_CUES,
    CompensationCheck,
    ExerciseTemplate,
    list_templates,
    load_template,
)

__all__ = [
    "DIRECTIONS",
    "DOFS",
    "JOINTS",
    "MIDLINE_JOINTS",
    "PLANES",
    "POSES",
    "REQUIRED_CUES",
    "CompensationCheck",
    "ExerciseTemplate",
    "list_templates",
    "load_template",
]
