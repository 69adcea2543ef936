"""What the AI lab's tests share: the exam's statements, a scripted solver on the loopback model server (right on
the tickets and the pens, wrong on the apples), the settings that point the app at it, and a lab over the exam."""
from classroom.services import lab

APPLES = "Anna has 3 apples and buys 4 more. How many apples does she have?"
PENS = "A pen costs 2 dollars. How much do 5 pens cost?"
TICKETS = "Tickets cost 6 dollars. What do 28 students pay?"


def solver_reply(req):
    """Right on the tickets (168) and on pens (10), wrong on the apples (8 instead of 7)."""
    asked = req.contents("user")[-1]
    if "apples" in asked:
        return "Step 1: 3 + 4 = 8.\nThe answer is 8."
    if "pen" in asked:
        return "5 pens cost 5 × 2 = 10 dollars.\n\\boxed{10}"
    return "28 × 6 = 168.\nFINAL ANSWER: 168"


def solver_settings(openai_server) -> dict:
    """The app's settings for a solver model on the test's server, failing fast."""
    return {"SOLVER_MODEL": "test-solver", "OPENAI_BASE_URL": openai_server.base_url, "OPENAI_API_KEY": "k",
            "GRADER_TIMEOUT": 2.0, "GRADER_MAX_ATTEMPTS": 1, "GRADER_BACKOFF_BASE": 0.01}


def make_lab(world, dbs, w, **overrides):
    """A lab whose practice exam is the classroom's problem and the apples, three samples each."""
    values = dict(title="Lab 1", exam_problem_ids=[w["problem"].id, w["apples"].id], samples=3)
    values.update(overrides)
    with world.app.app_context():
        return lab.create_lab(dbs, w["teacher"], w["course"], lab.LabDraft(**values))
