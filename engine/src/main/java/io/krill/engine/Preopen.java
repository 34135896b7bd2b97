package io.krill.engine;

import java.nio.file.Path;

/** A host directory the guest sees at {@code guestPath}; read-only preopens refuse writes. */
public record Preopen(Path hostPath, String guestPath, boolean readOnly) {}
