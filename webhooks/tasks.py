"""Tasks (django-tasks API, database backend) run by `python manage.py run_worker`."""

from django_tasks import TaskContext, task

from webhooks import services


@task(queue_name="webhooks", takes_context=True)
def deliver_webhook(context: TaskContext, delivery_id: int) -> str:
    worker_ids = context.task_result.worker_ids
    return services.delivery_attempt(
        delivery_id=delivery_id, worker_id=worker_ids[-1] if worker_ids else ""
    )
