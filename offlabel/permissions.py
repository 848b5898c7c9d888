from rest_framework.permissions import DjangoModelPermissions


class ModelViewPermission(DjangoModelPermissions):
    """Like DjangoModelPermissions, but reading needs the model's ``view`` permission too."""

    perms_map = {**DjangoModelPermissions.perms_map, "GET": ["%(app_label)s.view_%(model_name)s"]}
