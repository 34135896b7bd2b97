package io.krill.it.harness;

import io.krill.cri.api.v1.PodSandboxConfig;

/** A pod sandbox as kubelet knows it: the id the runtime gave it and the config it was run with. */
public record Pod(String id, PodSandboxConfig config) {}
