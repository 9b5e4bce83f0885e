import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from flowdesk.directory.models import Profile, get_profile

User = get_user_model()
pytestmark = pytest.mark.django_db


def test_createsuperuser_users_get_a_profile_on_first_use(django_assert_num_queries):
    call_command("createsuperuser", "--noinput", username="root", email="root@example.com")
    user = User.objects.get(username="root")
    assert not Profile.objects.filter(user=user).exists()
    profile = get_profile(user)
    assert (profile.user, profile.display_name, profile.language) == (user, "", "en")
    with django_assert_num_queries(0):
        assert get_profile(user) is profile


def test_str():
    user = User.objects.create_user("pm_alice")
    assert str(get_profile(user)) == "pm_alice"
