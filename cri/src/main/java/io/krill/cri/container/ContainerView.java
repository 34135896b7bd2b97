package io.krill.cri.container;

/**
 * A container as CRI reports it: its record and where it stands. An EXITED container's record
 * carries its exit (code, reason, time), read after its state so a guest that exited in between is
 * never shown without a code.
 */
public record ContainerView(CriContainer container, State state) {
  /** CRI's container states; a container whose task is gone (a restart) is EXITED. */
  public enum State {
    CREATED,
    RUNNING,
    EXITED
  }
}
