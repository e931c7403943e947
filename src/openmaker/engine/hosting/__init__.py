"""Real-time hosting: model server instances, endpoint fleets, the router and data capture.

``instances`` starts one model server (also used by batch transform); ``fleet`` groups them into
replicas and variants; ``manager`` runs endpoints' life cycles; ``router`` answers InvokeEndpoint;
``capture`` writes DataCaptureConfig records to S3.
"""

from openmaker.engine.hosting.instances import ContainerSpec, Instance, InstanceError, start_instance

__all__ = ["ContainerSpec", "Instance", "InstanceError", "start_instance"]
