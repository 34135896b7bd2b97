package io.krill.cri;

/** A container lifecycle change as CRI's GetContainerEvents streams it. */
record ContainerEvent(String containerId, String podId, Kind kind, long atNanos) {
  enum Kind { CREATED, STARTED, STOPPED, DELETED }
}
