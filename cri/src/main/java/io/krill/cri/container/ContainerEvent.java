package io.krill.cri.container;

/** A container lifecycle change as CRI's GetContainerEvents streams it. */
public record ContainerEvent(String containerId, String podId, Kind kind, long atNanos) {
  public enum Kind {
    CREATED,
    STARTED,
    STOPPED,
    DELETED
  }
}
