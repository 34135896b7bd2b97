package io.krill.runtime;

import io.krill.oci.RuntimeSpec;
import java.util.Objects;

/**
 * An exec: another wasm entry run in a running container's context. {@code process.args[0]} names
 * the module like a container's own ({@code /app.wasm#healthz}).
 */
public record ExecSpec(
    String containerId, String execId, RuntimeSpec.Process process, Stdio stdio) {
  public ExecSpec {
    Objects.requireNonNull(containerId, "containerId");
    Objects.requireNonNull(process, "process");
    stdio = stdio == null ? Stdio.NONE : stdio;
  }
}
