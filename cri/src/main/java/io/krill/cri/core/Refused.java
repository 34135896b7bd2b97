package io.krill.cri.core;

/**
 * A request containerd's CRI plugin refuses with an error of no class (an unknown runtime handler,
 * a group without a user, a seccomp profile it cannot place), which reaches the client as gRPC
 * UNKNOWN. krill answers such requests with the same code, so a kubelet or crictl sees the same
 * status from krill as from containerd; the message names the pod or container and says what to
 * change.
 */
public final class Refused extends RuntimeException {
  public Refused(String message) {
    super(message);
  }
}
