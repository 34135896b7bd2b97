package io.krill.it.harness;

import static org.junit.jupiter.api.Assertions.fail;

import io.grpc.StatusRuntimeException;
import io.krill.cri.api.v1.ContainerState;
import io.krill.cri.api.v1.ContainerStatus;
import io.krill.cri.api.v1.ContainerStatusRequest;
import io.krill.cri.api.v1.LinuxPodSandboxConfig;
import io.krill.cri.api.v1.LinuxSandboxSecurityContext;
import io.krill.cri.api.v1.NamespaceMode;
import io.krill.cri.api.v1.NamespaceOption;
import io.krill.cri.api.v1.PodSandboxConfig;
import io.krill.cri.api.v1.PodSandboxMetadata;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * CRI calls and configs the {@code krill cri} tests share: a host-network pod, container status,
 * waits, errors.
 */
public final class CriCalls {
  private CriCalls() {}

  /** A host-network pod in namespace default with a label, an annotation and its log directory. */
  public static PodSandboxConfig hostPod(String name, Path logs) {
    return PodSandboxConfig.newBuilder()
        .setMetadata(
            PodSandboxMetadata.newBuilder()
                .setName(name)
                .setNamespace("default")
                .setUid("uid-" + name))
        .setLogDirectory(logs.toString())
        .putLabels("app", name)
        .putAnnotations("note", "kept \u00e9xactly")
        .setLinux(
            LinuxPodSandboxConfig.newBuilder()
                .setSecurityContext(
                    LinuxSandboxSecurityContext.newBuilder()
                        .setNamespaceOptions(
                            NamespaceOption.newBuilder().setNetwork(NamespaceMode.NODE))))
        .build();
  }

  public static ContainerStatus status(CriClient c, String id) {
    return c.runtime()
        .containerStatus(ContainerStatusRequest.newBuilder().setContainerId(id).build())
        .getStatus();
  }

  /** Polls ContainerStatus until the container has exited; fails after 30 s. */
  public static ContainerStatus awaitExit(CriClient c, String id) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      ContainerStatus s = status(c, id);
      if (s.getState() == ContainerState.CONTAINER_EXITED) {
        return s;
      }
      Host.sleep(50);
    }
    fail("container " + id + " did not exit");
    return null;
  }

  /** The gRPC error {@code call} fails with; fails the test if it succeeds. */
  public static StatusRuntimeException expectError(Runnable call) {
    try {
      call.run();
    } catch (StatusRuntimeException e) {
      return e;
    }
    fail("the call succeeded");
    return null;
  }
}
