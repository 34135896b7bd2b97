package io.krill.runtime;

import java.nio.file.Path;

/** A snapshot of a task for State/Pids. {@code exit} is null until the task has stopped. */
public record TaskInfo(
    String id,
    Path bundle,
    int pid,
    TaskState state,
    String stdin,
    String stdout,
    String stderr,
    boolean terminal,
    ExitStatus exit) {}
