"""Test tooling: moto's server for one AWS account, with the handlers stock moto 5.2.1 lacks.

    python3 test/emulator/moto_launcher.py --port 45123 --account-id 111111111111
    python3 test/emulator/moto_launcher.py --check     # version and patches only, then exit

Starts moto's server on 127.0.0.1:<port> as account <account-id> (MOTO_ACCOUNT_ID) with the AWS
managed policies loaded (MOTO_IAM_LOAD_MANAGED_POLICIES=true), after patching in this process the
few handlers moto 5.2.1 lacks or gets wrong for Gantry's stacks (PATCHES below, each saying what
stock moto does wrong). The patches are written against moto 5.2.1's source: any other version
makes this script exit 2 saying what to do, and each patch checks that what it adds is missing and
what it wraps exists. The server stops by itself when its parent process dies or after
--max-seconds.
"""

import argparse
import json
import os
import sys
import threading
import time

MOTO_VERSION = "5.2.1"
INSTALL = f"pip install 'moto[server]=={MOTO_VERSION}'"


def check_moto_version() -> None:
    try:
        import moto
    except ImportError:
        print(
            f"gantry-moto: moto is not installed for {sys.executable}; install it with: {INSTALL}",
            file=sys.stderr,
        )
        sys.exit(2)
    if moto.__version__ != MOTO_VERSION:
        print(
            f"gantry-moto: moto {moto.__version__} is installed, but {__file__} patches moto "
            f"{MOTO_VERSION}'s handlers in place. Either install that version ({INSTALL}), or port "
            f"the patches: for each one in PATCHES, check whether moto {moto.__version__} still "
            "lacks or breaks it (drop it if not), re-verify it against the new source, then bump "
            "MOTO_VERSION here and in .ci/run.",
            file=sys.stderr,
        )
        sys.exit(2)


PATCHES: list[tuple[str, object]] = []


def patch(description: str):
    """Registers a patch: a function applied before the server starts, with what it fixes."""

    def register(function):
        PATCHES.append((description, function))
        return function

    return register


def add(cls: type, name: str, function) -> None:
    """Adds a handler stock moto lacks (an action goes to the method of its snake_case name)."""
    if name in vars(cls):
        raise RuntimeError(f"{cls.__name__}.{name} exists in this moto: drop or re-check the patch")
    setattr(cls, name, function)


def wrap(cls: type, name: str, make) -> None:
    """Replaces a stock handler by make(stock)."""
    stock = vars(cls).get(name)
    if stock is None:
        raise RuntimeError(f"{cls.__name__}.{name} is missing in this moto: re-check the patch")
    setattr(cls, name, make(stock))


# --- CodeBuild ---------------------------------------------------------------------------------


@patch("CodeBuild CreateProject: keep encryptionKey and concurrentBuildLimit")
def codebuild_create_project_keeps_fields() -> None:
    # Stock: CodeBuild(...) always sets encryptionKey to alias/aws/s3 and drops
    # concurrentBuildLimit, so every plan wants to change both back.
    from moto.codebuild.responses import CodeBuildResponse

    def make(stock):
        def create_project(self):
            stock(self)
            project = self.codebuild_backend.codebuild_projects[self._get_param("name")]
            for field in ("encryptionKey", "concurrentBuildLimit"):
                if self._get_param(field) is not None:
                    project.project_metadata[field] = self._get_param(field)
            return json.dumps({"project": project.project_metadata})

        return create_project

    wrap(CodeBuildResponse, "create_project", make)


@patch("CodeBuild UpdateProject (stock: not implemented)")
def codebuild_update_project() -> None:
    from moto.codebuild.exceptions import ResourceNotFoundException
    from moto.codebuild.responses import CodeBuildResponse
    from moto.core.utils import unix_time

    def update_project(self):
        name = self._get_param("name")
        project = self.codebuild_backend.codebuild_projects.get(name)
        if project is None:
            raise ResourceNotFoundException(f"Project cannot be found: {name}")
        # Every field given replaces the stored one, as in AWS; the others stay.
        for field, value in json.loads(self.body or "{}").items():
            if field != "name" and value is not None:
                project.project_metadata[field] = value
        if self._get_param("serviceRole"):
            project.service_role = self._get_param("serviceRole")
        project.project_metadata["lastModifiedDate"] = unix_time()
        return json.dumps({"project": project.project_metadata})

    add(CodeBuildResponse, "update_project", update_project)


@patch("CodeBuild Create/Update/DeleteWebhook (stock: not implemented)")
def codebuild_webhooks() -> None:
    # The webhook lives on the project, as BatchGetProjects returns it in AWS (without the secret).
    from moto.codebuild.exceptions import (
        ResourceAlreadyExistsException,
        ResourceNotFoundException,
    )
    from moto.codebuild.responses import CodeBuildResponse
    from moto.core.utils import unix_time
    from moto.moto_api._internal import mock_random

    def project_of(self):
        name = self._get_param("projectName")
        project = self.codebuild_backend.codebuild_projects.get(name)
        if project is None:
            raise ResourceNotFoundException(f"Project cannot be found: {name}")
        return project

    WEBHOOK_FIELDS = (
        "branchFilter",
        "filterGroups",
        "buildType",
        "manualCreation",
        "scopeConfiguration",
    )

    def create_webhook(self):
        project = project_of(self)
        if "webhook" in project.project_metadata:
            raise ResourceAlreadyExistsException(
                f"Webhook already exists for project {project.project_metadata['name']}"
            )
        url = f"https://codebuild.{self.region}.amazonaws.com/webhooks?t={mock_random.uuid4()}&v=1"
        webhook = {"url": url, "payloadUrl": url, "lastModifiedSecret": unix_time()}
        webhook.update(
            {f: self._get_param(f) for f in WEBHOOK_FIELDS if self._get_param(f) is not None}
        )
        webhook.setdefault("manualCreation", False)
        project.project_metadata["webhook"] = webhook
        return json.dumps({"webhook": {**webhook, "secret": mock_random.get_random_hex(32)}})

    def update_webhook(self):
        project = project_of(self)
        webhook = project.project_metadata.get("webhook")
        if webhook is None:
            raise ResourceNotFoundException("Webhook not found")
        for f in ("branchFilter", "filterGroups", "buildType"):
            if self._get_param(f) is not None:
                webhook[f] = self._get_param(f)
        return json.dumps({"webhook": webhook})

    def delete_webhook(self):
        project = project_of(self)
        if project.project_metadata.pop("webhook", None) is None:
            raise ResourceNotFoundException("Webhook not found")
        return "{}"

    add(CodeBuildResponse, "create_webhook", create_webhook)
    add(CodeBuildResponse, "update_webhook", update_webhook)
    add(CodeBuildResponse, "delete_webhook", delete_webhook)


# --- Application Auto Scaling --------------------------------------------------------------------


@patch("Application Auto Scaling tags: RegisterScalableTarget keeps Tags; List/Tag/UntagResource")
def applicationautoscaling_tags() -> None:
    # Stock: RegisterScalableTarget ignores Tags and the three tag operations are not implemented;
    # the provider reads a target's tags after creating it, so the apply fails.
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
    from moto.core.exceptions import JsonRESTError

    tags_by_arn: dict[str, dict[str, str]] = {}

    def known_arn(self, arn):
        targets = self.applicationautoscaling_backend.targets.values()
        if not any(t.arn == arn for by_id in targets for t in by_id.values()):
            raise JsonRESTError("ResourceNotFoundException", f"No scalable target found for {arn}")
        return tags_by_arn.setdefault(arn, {})

    def make(stock):
        def register_scalable_target(self):
            body = stock(self)
            arn = json.loads(body)["ScalableTargetARN"]
            # Tags are set when the target is created; re-registering it leaves them as they are.
            if arn not in tags_by_arn:
                tags_by_arn[arn] = dict(self._get_param("Tags") or {})
            return body

        return register_scalable_target

    def list_tags_for_resource(self):
        return json.dumps({"Tags": known_arn(self, self._get_param("ResourceARN"))})

    def tag_resource(self):
        known_arn(self, self._get_param("ResourceARN")).update(self._get_param("Tags") or {})
        return "{}"

    def untag_resource(self):
        tags = known_arn(self, self._get_param("ResourceARN"))
        for key in self._get_param("TagKeys") or []:
            tags.pop(key, None)
        return "{}"

    wrap(ApplicationAutoScalingResponse, "register_scalable_target", make)
    add(ApplicationAutoScalingResponse, "list_tags_for_resource", list_tags_for_resource)
    add(ApplicationAutoScalingResponse, "tag_resource", tag_resource)
    add(ApplicationAutoScalingResponse, "untag_resource", untag_resource)


# --- ECS -----------------------------------------------------------------------------------------


@patch(
    "ECS CreateService: keep enableECSManagedTags, healthCheckGracePeriodSeconds, "
    "deploymentConfiguration, enableExecuteCommand, availabilityZoneRebalancing"
)
def ecs_create_service_keeps_fields() -> None:
    # Stock: create_service passes only some request fields to the Service model, so
    # DescribeServices returns no managed tags, no grace period, no deployment configuration
    # (circuit breaker, alarms, minimum/maximum percent) and no AZ rebalancing, and every plan wants
    # to set them again. UpdateService already sets any field given on the model (as snake_case
    # attributes, which the serializer reads), so only CreateService needs this.
    from moto.core.utils import camelcase_to_underscores
    from moto.ecs.responses import EC2ContainerServiceResponse

    KEPT = (
        "enableECSManagedTags",
        "healthCheckGracePeriodSeconds",
        "deploymentConfiguration",
        "enableExecuteCommand",
        "availabilityZoneRebalancing",
    )

    def make(stock):
        def create_service(self):
            result = stock(self)
            service = result.result["service"]
            for field in KEPT:
                if self._get_param(field) is not None:
                    setattr(service, camelcase_to_underscores(field), self._get_param(field))
            return result

        return create_service

    wrap(EC2ContainerServiceResponse, "create_service", make)


# Fault tags: an image tag that contains one of these makes the emulator play that failure, so a
# test asks for a failure through the same input a real deploy takes (the tag).
ROLLOUT_FAILS_TAG = "emulator-rollout-fails"
MIGRATION_EXITS_1_TAG = "emulator-migration-exits-1"


def image_tag(image) -> str:
    """The tag of `<repository>:<tag>` ("" for a digest or no tag)."""
    image = image or ""
    if "@" in image:
        return ""
    last = image.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[-1] if ":" in last else ""


@patch(
    "ECS UpdateService: a new task definition gets its own deployment, which completes with "
    f"running = desired, or, for an image tag containing {ROLLOUT_FAILS_TAG!r}, fails and the "
    "circuit breaker puts the previous task definition back as PRIMARY"
)
def ecs_update_service_deploys() -> None:
    # Stock: the service's deployments are made once by CreateService (its first task definition,
    # IN_PROGRESS with 0 running) and never change, so nothing can follow a rollout. Here, as ECS
    # does (without a scheduler, so at once): UpdateService to another task definition replaces
    # them by a PRIMARY deployment of it, COMPLETED with running = desired; with the rollout fault
    # tag, ECS's deployment circuit breaker (rollback on) instead: the new deployment is FAILED
    # with every task failed, and a deployment of the previous task definition is PRIMARY again,
    # as is the service's task definition.
    from moto.core.utils import utcnow
    from moto.ecs.models import EC2ContainerServiceBackend
    from moto.moto_api._internal import mock_random

    def deployment(service, arn, status, state, running, failed, reason):
        now = utcnow()
        return {
            "createdAt": now,
            "desiredCount": service.desired_count,
            "failedTasks": failed,
            "id": f"ecs-svc/{mock_random.randint(0, 32**12)}",
            "launchType": service.launch_type,
            "pendingCount": 0,
            "rolloutState": state,
            "rolloutStateReason": reason,
            "runningCount": running,
            "platformVersion": service.platform_version,
            "networkConfiguration": service.network_configuration,
            "platformFamily": "FARGATE",
            "status": status,
            "taskDefinition": arn,
            "updatedAt": now,
        }

    def make(stock):
        def update_service(self, service_properties):
            wanted = service_properties.get("task_definition")
            cluster = service_properties.get("cluster", "default")
            name = (service_properties.get("service") or "").split("/")[-1]
            service = self._get_service(cluster, name)
            primary = next((d for d in service.deployments if d.get("status") == "PRIMARY"), None)
            result = stock(self, service_properties)
            if not wanted or primary is None:
                return result
            task_definition = self.describe_task_definition(wanted)
            if task_definition.arn == primary.get("taskDefinition"):
                return result
            desired = service.desired_count
            image = (task_definition.container_definitions or [{}])[0].get("image")
            if ROLLOUT_FAILS_TAG in image_tag(image):
                service.task_definition = primary["taskDefinition"]
                failed = deployment(
                    service, task_definition.arn, "ACTIVE", "FAILED", 0, desired,
                    "ECS deployment circuit breaker: tasks failed to start.",
                )
                back = deployment(
                    service, primary["taskDefinition"], "PRIMARY", "COMPLETED", desired, 0,
                    f"ECS deployment circuit breaker: rolling back to deploymentId {primary.get('id')}.",
                )
                service.deployments = [back, failed]
            else:
                service.deployments = [
                    deployment(
                        service, task_definition.arn, "PRIMARY", "COMPLETED", desired, 0,
                        "ECS deployment completed.",
                    )
                ]
            service.running_count = desired
            service.pending_count = 0
            return result

        return update_service

    wrap(EC2ContainerServiceBackend, "update_service", make)


@patch(
    "ECS RunTask on Fargate: containers without a memory of their own (Fargate sizes the task); "
    f"its task stops with exit code 0, or 1 for an image tag containing {MIGRATION_EXITS_1_TAG!r}"
)
def ecs_run_task_fargate() -> None:
    # Stock: RunTask adds up every container's memory for placement and fails with a TypeError
    # when a container has none (Fargate takes cpu and memory at the task level, and Gantry's
    # containers set none). Its tasks already advance to STOPPED over four DescribeTasks calls
    # (moto's managed state), their containers with exit code 0; with the migration fault tag,
    # the container exits 1.
    from moto.ecs.models import Container, EC2ContainerServiceBackend

    def sized(stock):
        def calculate(task_definition):
            missing = [
                c for c in task_definition.container_definitions
                if not any(c.get(k) is not None for k in ("memory", "memoryReservation", "Memory", "MemoryReservation"))
            ]
            for c in missing:
                c["memoryReservation"] = 0
            try:
                return stock(task_definition)
            finally:
                for c in missing:
                    del c["memoryReservation"]

        return staticmethod(calculate)

    stock = vars(EC2ContainerServiceBackend).get("_calculate_task_resource_requirements")
    if not isinstance(stock, staticmethod):
        raise RuntimeError("EC2ContainerServiceBackend._calculate_task_resource_requirements changed: re-check")
    setattr(EC2ContainerServiceBackend, "_calculate_task_resource_requirements", sized(stock.__func__))

    def exits(stock):
        def __init__(self, task_def):
            stock(self, task_def)
            if MIGRATION_EXITS_1_TAG in image_tag(self.image):
                self.exitCode = 1

        return __init__

    wrap(Container, "__init__", exits)


# --- IAM -----------------------------------------------------------------------------------------


@patch("IAM UpdateRole: leave Description and MaxSessionDuration alone when not given")
def iam_update_role_keeps_fields() -> None:
    # Stock: UpdateRole sets Description to None and MaxSessionDuration to 3600 when the request
    # omits them (the provider sends only what changed), wiping the role's description.
    from moto.core.responses import EmptyResult
    from moto.iam.responses import IamResponse

    def make(_stock):
        def update_role(self):
            role = self.backend.get_role(self._get_param("RoleName"))
            if self._get_param("Description") is not None:
                role.description = self._get_param("Description")
            if self._get_param("MaxSessionDuration") is not None:
                role.max_session_duration = self._get_param("MaxSessionDuration")
            return EmptyResult()

        return update_role

    wrap(IamResponse, "update_role", make)


# --- S3 ------------------------------------------------------------------------------------------


@patch("S3 bucket policies: a statement applies when its condition holds; Bool and StringNotEquals evaluated")
def s3_bucket_policy_conditions() -> None:
    # Stock: only StringEquals is evaluated; a statement with any other operator applies
    # unconditionally, so a TLS-only Deny (Bool aws:SecureTransport false) denies every request, and
    # bucket policies are evaluated with no request context at all. Here they see this server's
    # account as aws:PrincipalAccount (one server is one account) and aws:SecureTransport "true":
    # the emulator listens on plain HTTP on loopback, standing in for the HTTPS-only endpoint.
    from moto.iam import policy_conditions
    from moto.iam.access_control import IAMPolicy
    from moto.s3.models import FakeBucket

    operations = policy_conditions.CONDITION_OPERATIONS
    for name in ("Bool", "StringNotEquals"):
        if name in operations:
            raise RuntimeError(f"moto evaluates {name} already: drop or re-check the patch")

    def as_list(expected):
        return [str(v) for v in (expected if isinstance(expected, list) else [expected])]

    operations["Bool"] = lambda expected, actual: str(actual).lower() in [v.lower() for v in as_list(expected)]
    operations["StringNotEquals"] = lambda expected, actual: actual not in as_list(expected)

    def make(_stock):
        def get_permission(self, action, resource):
            # Stock IAMPolicyStatement answers DENIED for any statement whose condition does not
            # hold, whatever its Effect: here a statement applies only when its condition holds.
            from moto.iam.access_control import IAMPolicyStatement, PermissionResult

            if self.policy is None:
                return PermissionResult.NEUTRAL
            context = {"aws:SecureTransport": "true", "aws:PrincipalAccount": self.account_id}
            document = json.loads(self.policy.decode())
            statements = document["Statement"]
            statements = statements if isinstance(statements, list) else [statements]
            applying = [
                {k: v for k, v in statement.items() if k != "Condition"}
                for statement in statements
                if IAMPolicyStatement(statement)._check_conditions(context)
            ]
            return IAMPolicy(json.dumps({**document, "Statement": applying})).is_action_permitted(
                action, resource
            )

        return get_permission

    wrap(FakeBucket, "get_permission", make)


def exit_with_parent(parent_pid: int, max_seconds: float) -> None:
    """Stops the server when the process that started it is gone, or after max_seconds."""
    deadline = time.monotonic() + max_seconds
    while True:
        time.sleep(0.5)
        if os.getppid() != parent_pid:
            os._exit(0)
        if time.monotonic() > deadline:
            print(f"gantry-moto: stopping after --max-seconds {max_seconds:g}", file=sys.stderr)
            os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int)
    parser.add_argument("--account-id")
    parser.add_argument("--max-seconds", type=float, default=1800)
    parser.add_argument(
        "--check",
        action="store_true",
        help="check the moto version and apply the patches, then exit",
    )
    args = parser.parse_args()
    if not args.check:
        if args.port is None or not 1 <= args.port <= 65535:
            parser.error("--port: give the loopback port to listen on (1..65535)")
        if not (args.account_id and len(args.account_id) == 12 and args.account_id.isdigit()):
            parser.error(f"--account-id: {args.account_id!r} is not a 12-digit AWS account id")
        # Read by moto when it builds each request's context and loads the IAM backend.
        os.environ["MOTO_ACCOUNT_ID"] = args.account_id
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"

    check_moto_version()
    for _description, apply in PATCHES:
        apply()
    if args.check:
        print(f"gantry-moto: moto {MOTO_VERSION}, {len(PATCHES)} patches apply:")
        for description, _apply in PATCHES:
            print(f"  - {description}")
        return

    threading.Thread(
        target=exit_with_parent, args=(os.getppid(), args.max_seconds), daemon=True
    ).start()
    from moto.server import main as moto_server

    moto_server(["--host", "127.0.0.1", "--port", str(args.port)])


if __name__ == "__main__":
    main()
