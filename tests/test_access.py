"""Every route, as every kind of visitor.

The routes are discovered from the app: a new route without an entry in
ACCESS fails `test_every_route_has_an_access_entry`.
"""
import pytest
from sqlmodel import select

from classroom.models import Grade, GradingJob
from classroom.services import accounts, submissions
from classroom.services.submissions import CritiqueDraft

ROLES = ("anonymous", "student", "other_student", "other_instructor", "instructor")

# Expected status per role. "login" = redirect to the login page; "api401" = JSON 401.
TEACH_COURSE = {"anonymous": "login", "student": 403, "other_student": 403, "other_instructor": 404,
                "instructor": 200}
TEACH_POST = {**TEACH_COURSE, "instructor": 302}
TEACH_GLOBAL = {"anonymous": "login", "student": 403, "other_student": 403, "other_instructor": 200,
                "instructor": 200}
LEARN_COURSE = {"anonymous": "login", "student": 200, "other_student": 404, "other_instructor": 403,
                "instructor": 403}
LEARN_OWN = {**LEARN_COURSE}
API_MEMBER = {"anonymous": 401, "student": 200, "other_student": 404, "other_instructor": 404, "instructor": 200}
API_OWN = {"anonymous": 401, "student": 200, "other_student": 404, "other_instructor": 404, "instructor": 200}
API_TEACH = {"anonymous": 401, "student": 403, "other_student": 404, "other_instructor": 404, "instructor": 200}
PUBLIC = {r: 200 for r in ROLES}
ANY_USER = {"anonymous": "login", **{r: 200 for r in ROLES[1:]}}

# rule -> (method, url template, expected, form data or json)
ACCESS = {
    "/": ("GET", "/", {"anonymous": 200, "student": 302, "other_student": 302, "other_instructor": 302,
                       "instructor": 302}, None),
    "/healthz": ("GET", "/healthz", PUBLIC, None),
    "/static/<path:filename>": ("GET", "/static/css/app.css", PUBLIC, None),
    "/login": ("GET", "/login", {"anonymous": 200, **{r: 302 for r in ROLES[1:]}}, None),
    "/signup": ("GET", "/signup", {"anonymous": 200, **{r: 302 for r in ROLES[1:]}}, None),
    "/logout": ("POST", "/logout", {"anonymous": "login", **{r: 302 for r in ROLES[1:]}}, {}),
    "/preview": ("POST", "/preview", ANY_USER, {"text": "$x$"}),
    # Accounts (classroom/auth): every logged-in person has their own account page.
    "/forgot": ("GET", "/forgot", PUBLIC, None),
    "/password/<token>": ("GET", "/password/not-a-real-token", {r: 404 for r in ROLES}, None),
    "/account": ("GET", "/account", ANY_USER, None),
    # A course invitation: its link works for nobody when mistyped; answering it is its owner's alone
    # (the scene invites other_student), to everyone else it does not exist.
    "/invite/<token>": ("GET", "/invite/not-a-real-token", {r: 404 for r in ROLES}, None),
    "/invitations/<int:invitation_id>/accept": ("POST", "/invitations/{invitation}/accept", {
        "anonymous": "login", "student": 404, "other_student": 302, "other_instructor": 404, "instructor": 404}, {}),
    "/invitations/<int:invitation_id>/decline": ("POST", "/invitations/{invitation}/decline", {
        "anonymous": "login", "student": 404, "other_student": 302, "other_instructor": 404, "instructor": 404}, {}),
    # Nothing typed: the account page again (400) with the messages beside the fields.
    "/account/password": ("POST", "/account/password", {"anonymous": "login", **{r: 400 for r in ROLES[1:]}}, {}),
    "/account/tokens": ("POST", "/account/tokens", ANY_USER, {"label": "laptop"}),
    # The instructor's token: only its owner may revoke it; to everyone else it does not exist.
    "/account/tokens/<int:token_id>/revoke": ("POST", "/account/tokens/{token}/revoke", {
        "anonymous": "login", "student": 404, "other_student": 404, "other_instructor": 404, "instructor": 302}, {}),
    "/account/instructor-request": ("POST", "/account/instructor-request", {
        "anonymous": "login", "student": 302, "other_student": 302, "other_instructor": 400, "instructor": 400},
        {"note": "Maths at Northside High"}),
    # Administrators only (none of these roles is one; tests/test_accounts.py covers an administrator).
    "/admin/": ("GET", "/admin/", {"anonymous": "login", **{r: 403 for r in ROLES[1:]}}, None),
    "/admin/requests/<int:request_id>": ("POST", "/admin/requests/1", {"anonymous": "login",
                                                                      **{r: 403 for r in ROLES[1:]}},
                                         {"decision": "approve"}),
    "/admin/lti": ("GET", "/admin/lti", {"anonymous": "login", **{r: 403 for r in ROLES[1:]}}, None),
    "/admin/lti/platforms": ("POST", "/admin/lti/platforms", {"anonymous": "login", **{r: 403 for r in ROLES[1:]}},
                             {"issuer": "https://lms.test", "client_id": "c", "auth_login_url": "https://lms.test/a",
                              "auth_token_url": "https://lms.test/t", "key_set_url": "https://lms.test/k",
                              "deployment_id": "d"}),
    # Switching an LMS or one deployment off, and linking an LTI account (tests/test_lti_link.py covers admins).
    "/admin/lti/platforms/<int:platform_id>/active": ("POST", "/admin/lti/platforms/1/active", {
        "anonymous": "login", **{r: 403 for r in ROLES[1:]}}, {"action": "off"}),
    "/admin/lti/deployments/<int:deployment_id>/active": ("POST", "/admin/lti/deployments/1/active", {
        "anonymous": "login", **{r: 403 for r in ROLES[1:]}}, {"action": "off"}),
    "/admin/lti/accounts": ("GET", "/admin/lti/accounts", {"anonymous": "login", **{r: 403 for r in ROLES[1:]}}, None),
    "/admin/lti/accounts/<int:account_id>/link": ("POST", "/admin/lti/accounts/1/link", {
        "anonymous": "login", **{r: 403 for r in ROLES[1:]}}, {"email": "a@b.test", "step": "confirm"}),
    "/admin/users/<int:user_id>/access": ("POST", "/admin/users/{student_id}/access",
                                          {"anonymous": "login", **{r: 403 for r in ROLES[1:]}},
                                          {"action": "disable"}),
    # LTI 1.3 (classroom/lti): the LMS calls these, so they are open to everyone; a login initiation or a
    # launch without the platform's signed parameters is refused with a readable page (tests/test_lti.py).
    "/lti/jwks": ("GET", "/lti/jwks", PUBLIC, None),
    "/lti/login": ("GET", "/lti/login", {r: 400 for r in ROLES}, None),
    "/lti/launch": ("POST", "/lti/launch", {r: 400 for r in ROLES}, {}),
    # A deep-linking request kept for its instructor's choice (tests/test_lti_deep_linking.py): an unknown one
    # is refused with the readable page; someone else's is refused the same way.
    "/lti/deep-link/<launch_id>": ("GET", "/lti/deep-link/lti1p3-launch-00000000-0000-4000-8000-000000000000",
                                   {"anonymous": "login", **{r: 400 for r in ROLES[1:]}}, None),
    "/teach/": ("GET", "/teach/", TEACH_GLOBAL, None),
    "/teach/courses": ("POST", "/teach/courses", {**TEACH_GLOBAL, "other_instructor": 302, "instructor": 302},
                       {"title": "New one"}),
    "/teach/courses/<code>": ("GET", "/teach/courses/{code}", TEACH_COURSE, None),
    "/teach/courses/<code>/invitations/resend": ("POST", "/teach/courses/{code}/invitations/resend", TEACH_POST, {}),
    # No file sent: the course page again (400) with "Choose a CSV file" beside the file input.
    "/teach/courses/<code>/roster": ("POST", "/teach/courses/{code}/roster", {**TEACH_COURSE, "instructor": 400},
                                     {}),
    "/teach/courses/<code>/problems/new": ("GET", "/teach/courses/{code}/problems/new", TEACH_COURSE, None),
    "/teach/courses/<code>/assignments/new": ("GET", "/teach/courses/{code}/assignments/new", TEACH_COURSE, None),
    "/teach/courses/<code>/review": ("GET", "/teach/courses/{code}/review", TEACH_COURSE, None),
    # Grouped review: scoring a group (here of one) and undoing (nothing to undo: a message, back to the queue).
    # The grouped review queue through the API; scoring no critique is refused (400 with the reason) and
    # an undo with no batch of that name is too (409): both past the access check.
    "/api/v1/courses/<code>/review": ("GET", "/api/v1/courses/{code}/review", API_TEACH, None),
    "/api/v1/courses/<code>/review/score": ("POST", "/api/v1/courses/{code}/review/score",
                                            {**API_TEACH, "instructor": 400},
                                            {"json": {"grade_ids": [], "score": 1}}),
    "/api/v1/courses/<code>/review/undo": ("POST", "/api/v1/courses/{code}/review/undo",
                                           {**API_TEACH, "instructor": 409}, {"json": {"batch": "0" * 32}}),
    "/teach/courses/<code>/review/score": ("POST", "/teach/courses/{code}/review/score", TEACH_POST,
                                           {"grade_ids": "{grade}", "score": "100"}),
    "/teach/courses/<code>/review/undo": ("POST", "/teach/courses/{code}/review/undo", TEACH_POST,
                                          {"batch": "0" * 32}),
    "/teach/courses/<code>/gradebook": ("GET", "/teach/courses/{code}/gradebook", TEACH_COURSE, None),
    "/teach/courses/<code>/gradebook.csv": ("GET", "/teach/courses/{code}/gradebook.csv", TEACH_COURSE, None),
    "/teach/courses/<code>/audit": ("GET", "/teach/courses/{code}/audit", TEACH_COURSE, None),
    "/teach/problems/<int:problem_id>": ("GET", "/teach/problems/{problem}", TEACH_COURSE, None),
    "/teach/problems/<int:problem_id>/edit": ("GET", "/teach/problems/{problem}/edit", TEACH_COURSE, None),
    "/teach/assignments/<int:assignment_id>": ("GET", "/teach/assignments/{assignment}", TEACH_COURSE, None),
    "/teach/assignments/<int:assignment_id>/edit": ("GET", "/teach/assignments/{assignment}/edit",
                                                    TEACH_COURSE, None),
    # What the class missed (classroom/teacher/analysis_routes.py): the course's instructors only.
    "/teach/assignments/<int:assignment_id>/analysis": ("GET", "/teach/assignments/{assignment}/analysis",
                                                        TEACH_COURSE, None),
    "/teach/assignments/<int:assignment_id>/analysis/<chart>.csv": (
        "GET", "/teach/assignments/{assignment}/analysis/wrong-answers.csv", TEACH_COURSE, None),
    "/teach/courses/<code>/progress": ("GET", "/teach/courses/{code}/progress?sort=average&below=70", TEACH_COURSE,
                                       None),
    "/teach/courses/<code>/progress.csv": ("GET", "/teach/courses/{code}/progress.csv", TEACH_COURSE, None),
    "/teach/courses/<code>/progress/<chart>.csv": ("GET", "/teach/courses/{code}/progress/completion.csv", TEACH_COURSE,
                                                   None),
    "/teach/assignments/<int:assignment_id>/progress.json": ("GET", "/teach/assignments/{assignment}/progress.json",
                                                             TEACH_COURSE, None),
    "/teach/assignments/<int:assignment_id>/release": ("POST", "/teach/assignments/{assignment}/release",
                                                       TEACH_POST, {"action": "release", "confirm": "yes"}),
    # LTI Advantage (classroom/teacher/lti_routes.py): the course has no LMS here, so the instructor is sent back
    # to the page with the reason; tests/test_lti_grades.py drives both against the test LMS.
    "/teach/assignments/<int:assignment_id>/lms-scores": ("POST", "/teach/assignments/{assignment}/lms-scores",
                                                          TEACH_POST, {}),
    "/teach/courses/<code>/lms-roster": ("POST", "/teach/courses/{code}/lms-roster", TEACH_POST, {}),
    # The grader model's pilot: a sample of the held submissions, then the rest (nothing held here: the page again).
    "/teach/assignments/<int:assignment_id>/pilot": ("POST", "/teach/assignments/{assignment}/pilot", TEACH_POST,
                                                     {"count": "3"}),
    "/teach/assignments/<int:assignment_id>/grade-rest": ("POST", "/teach/assignments/{assignment}/grade-rest",
                                                          TEACH_POST, {}),
    "/teach/submissions/<int:submission_id>": ("GET", "/teach/submissions/{submission}", TEACH_COURSE, None),
    "/teach/grades/<int:grade_id>/score": ("POST", "/teach/grades/{grade}/score", TEACH_POST, {"score": "100"}),
    "/teach/grades/<int:grade_id>/clear": ("POST", "/teach/grades/{grade}/clear", TEACH_POST, {}),
    "/teach/conversations/<int:conversation_id>": ("GET", "/teach/conversations/{conversation}", TEACH_COURSE, None),
    "/teach/jobs/<int:job_id>/retry": ("POST", "/teach/jobs/{job}/retry", TEACH_POST, {}),
    # Authoring (classroom/teacher/authoring_routes.py).
    "/teach/courses/<code>/bank": ("POST", "/teach/courses/{code}/bank", {**TEACH_COURSE, "instructor": 400}, {}),
    "/teach/help/bank-format": ("GET", "/teach/help/bank-format", TEACH_GLOBAL, None),
    "/teach/courses/<code>/bank.jsonl": ("GET", "/teach/courses/{code}/bank.jsonl", TEACH_COURSE, None),
    "/teach/courses/<code>/dataset.jsonl": ("GET", "/teach/courses/{code}/dataset.jsonl", TEACH_COURSE, None),
    "/teach/courses/<code>/problems/generate": ("GET", "/teach/courses/{code}/problems/generate", TEACH_COURSE,
                                                None),
    "/teach/problems/<int:problem_id>/generate": ("GET", "/teach/problems/{problem}/generate", TEACH_COURSE, None),
    "/teach/problems/<int:problem_id>/preview": ("GET", "/teach/problems/{problem}/preview", TEACH_COURSE, None),
    "/teach/problems/<int:problem_id>/copy": ("POST", "/teach/problems/{problem}/copy", TEACH_POST,
                                              {"course": "{code}"}),
    "/teach/solutions/<int:solution_id>": ("GET", "/teach/solutions/{solution}", TEACH_COURSE, None),
    "/teach/solutions/<int:solution_id>/approve": ("POST", "/teach/solutions/{solution}/approve", TEACH_POST, {}),
    "/teach/solutions/<int:solution_id>/discard": ("POST", "/teach/solutions/{solution}/discard", TEACH_POST, {}),
    # Lab groups (classroom/*/lab_routes.py): the scene's student is in group A, another student in group B.
    "GET /teach/courses/<code>/groups": ("GET", "/teach/courses/{code}/groups", TEACH_COURSE, None),
    "POST /teach/courses/<code>/groups": ("POST", "/teach/courses/{code}/groups", TEACH_POST, {"name": "Group C"}),
    "/teach/groups/<int:group_id>/members": ("POST", "/teach/groups/{group}/members", TEACH_POST,
                                             {"student": "{student_id}"}),
    "/teach/groups/<int:group_id>/members/<int:user_id>/remove": (
        "POST", "/teach/groups/{group}/members/{student_id}/remove", TEACH_POST, {}),
    "/learn/courses/<code>/groups": ("GET", "/learn/courses/{code}/groups", LEARN_COURSE, None),
    # A refusal (group A is closed to joining) is said on the groups page: a redirect for the course's student.
    "/learn/groups/<int:group_id>/join": ("POST", "/learn/groups/{group}/join", {**LEARN_COURSE, "student": 302}, {}),
    "/learn/groups/<int:group_id>/leave": ("POST", "/learn/groups/{group}/leave", {**LEARN_COURSE, "student": 302},
                                           {}),
    # The instructor is sent back to the draft's page (the key already has its reason: the page says so).
    "/teach/solutions/<int:solution_id>/propose-reason": ("POST", "/teach/solutions/{solution}/propose-reason",
                                                         TEACH_POST, {}),
    # The AI lab: the scene's lab has the course's problem as its exam; Alice's group A has a strategy and a
    # finished run. No solver model is configured in this scene, so starting a run is refused (409).
    "/teach/courses/<code>/labs/new": ("GET", "/teach/courses/{code}/labs/new", TEACH_COURSE, None),
    "/teach/labs/<int:lab_id>": ("GET", "/teach/labs/{lab}", TEACH_COURSE, None),
    "/teach/labs/<int:lab_id>/groups/<int:group_id>": ("GET", "/teach/labs/{lab}/groups/{group}", TEACH_COURSE, None),
    "/teach/runs/<int:run_id>": ("GET", "/teach/runs/{run}", TEACH_COURSE, None),
    "/learn/labs/<int:lab_id>": ("GET", "/learn/labs/{lab}", LEARN_COURSE, None),
    "/learn/labs/<int:lab_id>/problems": ("POST", "/learn/labs/{lab}/problems", {**LEARN_COURSE, "student": 302},
                                          {"exam_problem_id": "{problem}", "title": "Pens", "statement": "5 pens at $2?",
                                           "reference_solution": "5 × 2 = 10", "reference_answer": "10"}),
    "/learn/labs/<int:lab_id>/strategies": ("POST", "/learn/labs/{lab}/strategies", {**LEARN_COURSE, "student": 302},
                                            {"system_prompt": "Check every product twice."}),
    "/learn/labs/<int:lab_id>/runs": ("POST", "/learn/labs/{lab}/runs", {**LEARN_COURSE, "student": 409},
                                      {"target": "exam", "strategy_id": "{strategy}"}),
    "/learn/runs/<int:run_id>": ("GET", "/learn/runs/{run}", LEARN_COURSE, None),
    "/learn/runs/<int:run_id>/progress.json": ("GET", "/learn/runs/{run}/progress.json", LEARN_COURSE, None),
    # The run has finished: the refusal is said on the run's page (a redirect) to its group.
    "/learn/runs/<int:run_id>/cancel": ("POST", "/learn/runs/{run}/cancel", {**LEARN_COURSE, "student": 302}, {}),
    # Run again: the scene's run is done, so the refusal is said on its page (a redirect) to its group.
    "/learn/runs/<int:run_id>/resume": ("POST", "/learn/runs/{run}/resume", {**LEARN_COURSE, "student": 302}, {}),
    # Harvesting: group A's wrong attempt, already submitted; the instructor approves it.
    "/learn/attempts/<int:attempt_id>/harvest": ("GET", "/learn/attempts/{attempt}/harvest", LEARN_COURSE, None),
    "/learn/harvests/<int:harvest_id>/dataset": ("POST", "/learn/harvests/{harvest}/dataset",
                                                 {**LEARN_COURSE, "student": 302}, {"include": "0"}),
    "/teach/labs/<int:lab_id>/harvests": ("GET", "/teach/labs/{lab}/harvests", TEACH_COURSE, None),
    # The leaderboard: the scene's lab keeps it for instructors (the class sees it when they open it).
    "GET /teach/labs/<int:lab_id>/leaderboard": ("GET", "/teach/labs/{lab}/leaderboard", TEACH_COURSE, None),
    "POST /teach/labs/<int:lab_id>/leaderboard": ("POST", "/teach/labs/{lab}/leaderboard", TEACH_POST,
                                                  {"visible": "0"}),
    # Rubric grades: the scene's lab has one criterion; a save with every field blank grades nothing (302).
    "/teach/labs/<int:lab_id>/grades": ("GET", "/teach/labs/{lab}/grades", TEACH_COURSE, None),
    "/teach/labs/<int:lab_id>/rubric": ("POST", "/teach/labs/{lab}/rubric", TEACH_POST, {"title": "Runs", "points": "5"}),
    "/teach/labs/<int:lab_id>/rubric/<int:criterion_id>/remove": (
        "POST", "/teach/labs/{lab}/rubric/{criterion}/remove", TEACH_POST, {}),
    "/teach/labs/<int:lab_id>/groups/<int:group_id>/grade": ("POST", "/teach/labs/{lab}/groups/{group}/grade",
                                                             TEACH_POST, {}),
    "/teach/labs/<int:lab_id>/grades/release": ("POST", "/teach/labs/{lab}/grades/release", TEACH_POST,
                                                {"released": "1"}),
    "/learn/labs/<int:lab_id>/leaderboard": ("GET", "/learn/labs/{lab}/leaderboard", {**LEARN_COURSE, "student": 403},
                                             None),
    "/teach/harvests/<int:harvest_id>/decide": ("POST", "/teach/harvests/{harvest}/decide", TEACH_POST,
                                                {"decision": "approve"}),
    "/learn/": ("GET", "/learn/", {"anonymous": "login", "student": 200, "other_student": 200,
                                   "other_instructor": 403, "instructor": 403}, None),
    # An unknown code: the dashboard again (400) with the message beside the code.
    "/learn/join": ("POST", "/learn/join", {"anonymous": "login", "student": 400, "other_student": 400,
                                            "other_instructor": 403, "instructor": 403}, {"code": "ZZZ999"}),
    # A student's own released scores: every student has theirs (empty when nothing is released).
    "/learn/progress.csv": ("GET", "/learn/progress.csv", {"anonymous": "login", "student": 200, "other_student": 200,
                                                           "other_instructor": 403, "instructor": 403}, None),
    "/learn/courses/<code>": ("GET", "/learn/courses/{code}", LEARN_COURSE, None),
    "/learn/assignments/<int:assignment_id>": ("GET", "/learn/assignments/{assignment}", LEARN_COURSE, None),
    "/learn/assignments/<int:assignment_id>/problems/<int:problem_id>": (
        "GET", "/learn/assignments/{assignment}/problems/{problem}", LEARN_COURSE, None),
    "/learn/assignments/<int:assignment_id>/problems/<int:problem_id>/read-answer": (
        "GET", "/learn/assignments/{assignment}/problems/{problem}/read-answer?answer=2%201%2F2", LEARN_COURSE, None),
    "/learn/assignments/<int:assignment_id>/problems/<int:problem_id>/conversations": (
        "POST", "/learn/assignments/{teach_assignment}/problems/{teach_problem}/conversations",
        {**LEARN_COURSE, "student": 302}, {}),
    "/learn/conversations/<int:conversation_id>": ("GET", "/learn/conversations/{conversation}", LEARN_OWN, None),
    "/learn/conversations/<int:conversation_id>/messages": (
        "POST", "/learn/conversations/{conversation}/messages", {**LEARN_OWN, "student": 302},
        {"text": "Step 2 is wrong: 28 × 6 is 168."}),
    "/learn/conversations/<int:conversation_id>/end": ("POST", "/learn/conversations/{conversation}/end",
                                                       {**LEARN_OWN, "student": 302}, {}),
    "/learn/conversations/<int:conversation_id>/events": ("GET", "/learn/conversations/{conversation}/events",
                                                          LEARN_OWN, None),
    "/learn/submissions/<int:submission_id>": ("GET", "/learn/submissions/{submission}", LEARN_OWN, None),
    "/learn/submissions/<int:submission_id>/state.json": ("GET", "/learn/submissions/{submission}/state.json",
                                                          LEARN_OWN, None),
    # Two routes share this rule (GET and POST): each is keyed with its method (see route_keys).
    "GET /api/v1/courses/<code>/assignments": ("GET", "/api/v1/courses/{code}/assignments", API_MEMBER, None),
    "POST /api/v1/courses/<code>/assignments": (
        "POST", "/api/v1/courses/{code}/assignments", {**API_TEACH, "instructor": 201},
        {"json": lambda ids: {"title": "By script", "opens_at": "2026-01-01T09:00:00Z",
                              "due_at": "2030-01-01T09:00:00+01:00",
                              "problems": [{"id": ids["problem"], "mode": "critique"}]}}),
    "/api/v1/courses/<code>/problems": (
        "POST", "/api/v1/courses/{code}/problems", {**API_TEACH, "instructor": 201},
        {"json": {"id": "api-1", "question_type": "original", "question": "What is $2 + 2$?",
                  "reference_solution": "$2 + 2 = 4$", "reference_answer": "4", "flawed_steps": ["2 + 2 = 5", "#### 5"],
                  "first_error_step": 1, "error_reason": "2 + 2 is 4."}}),
    "/api/v1/assignments/<int:assignment_id>/submissions": ("GET", "/api/v1/assignments/{assignment}/submissions",
                                                            API_TEACH, None),
    "/api/v1/submissions/<int:submission_id>/grades/<component>": (
        "POST", "/api/v1/submissions/{submission}/grades/explanation", API_TEACH, {"json": {"score": 1}}),
    "/api/v1/assignments/<int:assignment_id>/release": ("POST", "/api/v1/assignments/{assignment}/release",
                                                        API_TEACH, {"json": {"confirm": True}}),
    "/api/v1/openapi.json": ("GET", "/api/v1/openapi.json", PUBLIC, None),
    "/api/v1/assignments/<int:assignment_id>/problems/<int:problem_id>/submissions": (
        "POST", "/api/v1/assignments/{assignment}/problems/{problem}/submissions",
        {"anonymous": 401, "student": 201, "other_student": 404, "other_instructor": 404, "instructor": 403},
        {"json": {"error_step": 1, "explanation": "e"}}),
    "/api/v1/assignments/<int:assignment_id>/problems/<int:problem_id>/read-answer": (
        "GET", "/api/v1/assignments/{assignment}/problems/{problem}/read-answer?answer=5%2F2", API_MEMBER, None),
    "/api/v1/submissions/<int:submission_id>": ("GET", "/api/v1/submissions/{submission}", API_OWN, None),
    "/api/v1/courses/<code>/gradebook.csv": ("GET", "/api/v1/courses/{code}/gradebook.csv", API_TEACH, None),
    "/api/v1/assignments/<int:assignment_id>/agreement": ("GET", "/api/v1/assignments/{assignment}/agreement",
                                                          API_TEACH, None),
    # Teach mode (classroom/api/conversation_routes.py): the scene's student has an open conversation on one
    # teach problem and starts one on another; instructors read transcripts but do not take part.
    "/api/v1/assignments/<int:assignment_id>/problems/<int:problem_id>/conversations": (
        "POST", "/api/v1/assignments/{teach_assignment}/problems/{teach_problem}/conversations",
        {"anonymous": 401, "student": 201, "other_student": 404, "other_instructor": 404, "instructor": 403}, None),
    "/api/v1/conversations/<int:conversation_id>": ("GET", "/api/v1/conversations/{conversation}", API_OWN, None),
    "/api/v1/conversations/<int:conversation_id>/messages": (
        "POST", "/api/v1/conversations/{conversation}/messages",
        {"anonymous": 401, "student": 201, "other_student": 404, "other_instructor": 404, "instructor": 403},
        {"json": {"text": "Step 2 is wrong: 28 × 6 is 168."}}),
    "/api/v1/conversations/<int:conversation_id>/end": (
        "POST", "/api/v1/conversations/{conversation}/end",
        {"anonymous": 401, "student": 200, "other_student": 404, "other_instructor": 404, "instructor": 403}, None),
    "/api/v1/assignments/<int:assignment_id>/item-analysis": (
        "GET", "/api/v1/assignments/{assignment}/item-analysis", API_TEACH, None),
    "/api/v1/tokens": ("GET", "/api/v1/tokens", {"anonymous": 401, **{r: 200 for r in ROLES[1:]}}, None),
    "/api/v1/tokens/<int:token_id>": ("DELETE", "/api/v1/tokens/{token}", {
        "anonymous": 401, "student": 404, "other_student": 404, "other_instructor": 404, "instructor": 204}, None),
}


def route_keys(app) -> set[str]:
    """A rule, or "METHOD rule" for each of several routes that share one rule."""
    by_rule: dict[str, list] = {}
    for r in app.url_map.iter_rules():
        by_rule.setdefault(r.rule, []).append(r)
    keys = set()
    for rule, routes in by_rule.items():
        if len(routes) == 1:
            keys.add(rule)
        else:
            keys.update(f"{m} {rule}" for r in routes for m in r.methods - {"HEAD", "OPTIONS"})
    return keys


def test_every_route_has_an_access_entry(app):
    rules = route_keys(app)
    missing = sorted(rules - set(ACCESS))
    assert not missing, f"routes without an access-control entry: {missing}"
    stale = sorted(set(ACCESS) - rules)
    assert not stale, f"entries for routes that no longer exist: {stale}"


@pytest.fixture
def app_config(app_config, openai_server):
    """A tutee model on the loopback server, so teach mode's routes run for real."""
    openai_server.responder = lambda req: "Show me where my working goes wrong.\n\nFINAL ANSWER: 158"
    app_config.update({"TUTEE_MODEL": "access-tutee", "OPENAI_BASE_URL": openai_server.base_url,
                       "GRADER_MAX_ATTEMPTS": 1, "GRADER_BACKOFF_BASE": 0.0, "GRADER_TIMEOUT": 5.0})
    return app_config


@pytest.fixture
def scene(world, dbs, request):
    from classroom import jobs
    from classroom.services import conversations
    w = world.classroom()
    other_teacher = world.instructor()
    other_course = world.course(other_teacher, title="Elsewhere")
    other_student = world.student(other_course)
    with world.app.app_context():
        sub, job = submissions.submit(dbs, w["alice"], w["assignment"].id, w["problem"].id,
                                      CritiqueDraft(2, "found it", "fix", "168"))
        jobs.run_job(job.id)
        # A failed job, so retry has something to act on.
        dbs.exec(select(GradingJob).where(GradingJob.id == job.id)).one()
    grade = dbs.exec(select(Grade).where(Grade.submission_id == sub.id, Grade.component == "location")).one()
    dbs.get(GradingJob, job.id).state = "failed"
    dbs.commit()
    with world.app.app_context():
        tokens = {name: accounts.create_token(dbs, u.email) for name, u in (
            ("student", w["alice"]), ("other_student", other_student), ("other_instructor", other_teacher),
            ("instructor", w["teacher"]))}
    users = {"student": w["alice"], "other_student": other_student, "other_instructor": other_teacher,
             "instructor": w["teacher"]}
    with world.app.app_context():  # a generated draft waiting for review
        from classroom.services import authoring
        draft = authoring.add_draft(dbs, w["problem"], ["Step one.", "Step two."], "1", 2, "Draft key reason.",
                                    "arithmetic", "test-model")
        dbs.commit()
    with world.app.app_context():  # lab groups: Alice in A, Bob in B
        from classroom.services import groups
        group_a = groups.create_group(dbs, w["teacher"], w["course"], name="Group A")
        groups.add_member(dbs, w["teacher"], group_a.id, w["alice"].id)
        group_b = groups.create_group(dbs, w["teacher"], w["course"], name="Group B")
        groups.add_member(dbs, w["teacher"], group_b.id, w["bob"].id)
    with world.app.app_context():  # a lab, group A's strategy and a finished run of it
        from classroom.models import LabRun
        from classroom.services import lab
        the_lab = lab.create_lab(dbs, w["teacher"], w["course"], lab.LabDraft(
            title="Lab 1", exam_problem_ids=[w["problem"].id]))
        strategy = lab.save_strategy(dbs, w["alice"], the_lab.id, "Think step by step.", [])
        run = LabRun(lab_id=the_lab.id, group_id=group_a.id, strategy_id=strategy.id, target="exam", samples=1,
                     items=[["exam", w["problem"].id]], total=1, model="m", state="done", started_by_id=w["alice"].id)
        dbs.add(run)
        dbs.commit()
        from classroom.models import LabAttempt
        from classroom.services import harvest
        attempt = LabAttempt(run_id=run.id, item=0, sample_index=0, problem_id=w["problem"].id, verdict="incorrect",
                             text="28 × 6 = 158.\nThe answer is 158.", final_answer="158", model="m",
                             strategy_id=strategy.id)
        dbs.add(attempt)
        dbs.commit()
        harvested = harvest.submit_harvest(dbs, w["alice"], attempt.id, first_wrong_step=1,
                                           reason="The product is off.", error_kind="arithmetic")
        from classroom.services import lab_grades
        criterion = lab_grades.add_criterion(dbs, w["teacher"], the_lab.id, "Synthetic problems", 10)
    from classroom.models import ApiToken
    token_id = dbs.exec(select(ApiToken.id).where(ApiToken.user_id == w["teacher"].id)).first()
    with world.app.app_context():
        from classroom.services import invitations
        invitation, _token = invitations.issue(dbs, w["teacher"], w["course"], other_student, "Oscar Other")
        dbs.commit()
    ids = {"code": w["course"].code, "problem": w["problem"].id, "assignment": w["assignment"].id,
           "solution": draft.id, "token": token_id, "student_id": w["alice"].id,
           "submission": sub.id, "grade": grade.id, "job": job.id, "group": group_a.id,
           "invitation": invitation.id,
           "lab": the_lab.id, "strategy": strategy.id, "run": run.id, "attempt": attempt.id,
           "harvest": harvested.id, "criterion": criterion.id}

    if "conversation" in getattr(getattr(request.node, "callspec", None), "params", {}).get("rule", ""):
        # Teach mode's routes only (built for them alone, to keep the other routes' scenes quick).
        talked, to_start = (world.problem(w["teacher"], w["course"], title=t) for t in ("Teach me", "Teach me too"))
        teach_assignment = world.assignment(w["teacher"], w["course"], [talked, to_start], title="Teach week",
                                            problem_modes={p.id: {"mode": "teach"} for p in (talked, to_start)})
        with world.app.app_context():
            conversation = conversations.start(dbs, w["alice"], teach_assignment.id, talked.id, world.app.config)
        ids.update(teach_assignment=teach_assignment.id, teach_problem=to_start.id,
                   conversation=conversation.conversation.id)
    return users, tokens, ids


@pytest.mark.parametrize("rule", sorted(ACCESS))
def test_route_access(rule, make_client, scene):
    users, tokens, ids = scene
    method, template, expected, payload = ACCESS[rule]
    rule = rule.split(" ")[-1]  # "POST /api/..." -> "/api/..."
    url = template.format(**ids)
    for role in ROLES:
        client = make_client(users.get(role)) if not rule.startswith("/api/") else make_client()
        headers = {"Authorization": f"Bearer {tokens[role]}"} if rule.startswith("/api/") and role in tokens else {}
        kwargs = {"headers": headers}
        if payload is not None:
            if "json" in payload:
                kwargs["json"] = payload["json"](ids) if callable(payload["json"]) else payload["json"]
            else:
                kwargs["data"] = {k: v.format(**ids) if isinstance(v, str) else v for k, v in payload.items()}
        resp = client.open(url, method=method, **kwargs)
        want = expected[role]
        if want == "login":
            assert resp.status_code == 302 and "/login" in resp.headers["Location"], (role, url, resp.status_code)
        else:
            assert resp.status_code == want, (role, url, resp.status_code, resp.get_data(as_text=True)[:300])
        body = resp.get_data(as_text=True)
        if role != "instructor":
            assert "found it" not in body or role == "student", (role, url, "another student's work leaked")
            assert "28 × 6 = 168, not 158." not in body, (role, url, "the answer key leaked")
            assert "Draft key reason." not in body, (role, url, "a draft's key leaked")


def test_guessed_ids_do_not_leak_other_courses(make_client, world, dbs, scene):
    users, tokens, ids = scene
    c = make_client(users["other_instructor"])
    for url in (f"/teach/submissions/{ids['submission']}", f"/teach/problems/{ids['problem']}",
                f"/teach/assignments/{ids['assignment']}", f"/teach/courses/{ids['code']}/gradebook.csv"):
        resp = c.get(url)
        assert resp.status_code == 404 and "found it" not in resp.get_data(as_text=True)
    c = make_client(users["other_student"])
    assert c.get(f"/learn/submissions/{ids['submission']}").status_code == 404
