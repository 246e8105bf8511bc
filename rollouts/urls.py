from django.urls import path

from onboarding.doors import two_doors
from rollouts import api, views

urlpatterns = [
    path(
        "admin/rollouts",
        two_doors(api=api.RolloutListView.as_view(), page=views.rollout_list_page),
        name="rollout-list",
    ),
    path(
        "admin/rollouts/<uuid:id>",
        two_doors(api=api.RolloutDetailView.as_view(), page=views.rollout_detail_page),
        name="rollout-detail",
    ),
    path(
        "admin/rollouts/<uuid:id>/pause",
        two_doors(api=api.RolloutPauseView.as_view(), page=views.rollout_pause_page),
        name="rollout-pause",
    ),
    path(
        "admin/rollouts/<uuid:id>/resume",
        two_doors(api=api.RolloutResumeView.as_view(), page=views.rollout_resume_page),
        name="rollout-resume",
    ),
    path(
        "admin/rollouts/<uuid:id>/advance",
        two_doors(api=api.RolloutAdvanceView.as_view(), page=views.rollout_advance_page),
        name="rollout-advance",
    ),
    path(
        "admin/rollouts/<uuid:id>/abort",
        two_doors(api=api.RolloutAbortView.as_view(), page=views.rollout_abort_page),
        name="rollout-abort",
    ),
    path(
        "admin/rollouts/<uuid:id>/alarm",
        two_doors(api=api.RolloutAlarmView.as_view(), page=views.rollout_alarm_page),
        name="rollout-alarm",
    ),
]
