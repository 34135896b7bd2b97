package io.krill.engine;

import java.nio.file.Path;

/**
 * A host directory or file the guest sees at {@code guestPath}; read-only ones refuse writes. A
 * directory is a WASI preopen of its own; a file is reached through the directory that holds its
 * guest path.
 */
public record Preopen(Path hostPath, String guestPath, boolean readOnly) {}
