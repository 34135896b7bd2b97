package io.krill.cri.container;

/**
 * The parts of a container's Linux security context that krill checks as containerd does, though a
 * wasm guest runs as no user and makes no system calls of its own: {@code runAsUser} and {@code
 * runAsGroup} are null when not set; {@code seccompProfilePath} is the deprecated string field (""
 * when not set); {@code seccomp} the structured profile, null when not set.
 */
public record ContainerSecurity(
    Long runAsUser,
    String runAsUsername,
    Long runAsGroup,
    String seccompProfilePath,
    Seccomp seccomp) {
  public static final ContainerSecurity NONE = new ContainerSecurity(null, "", null, "", null);

  public ContainerSecurity {
    runAsUsername = runAsUsername == null ? "" : runAsUsername;
    seccompProfilePath = seccompProfilePath == null ? "" : seccompProfilePath;
  }

  /** CRI's SecurityProfile: its type and, for a {@code LOCALHOST} profile, which one. */
  public record Seccomp(Type type, String localhostRef) {
    public enum Type {
      RUNTIME_DEFAULT,
      UNCONFINED,
      LOCALHOST
    }

    public Seccomp {
      localhostRef = localhostRef == null ? "" : localhostRef;
    }
  }
}
