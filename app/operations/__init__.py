"""Operations of the national service: the queue, the providers' health, the workers' ticks,
the failures, pausing and resuming the sending, retrying a failed batch (the page
« Exploitation » and ``/api/v1/operations``)."""
