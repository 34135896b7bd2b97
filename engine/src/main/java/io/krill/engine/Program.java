package io.krill.engine;

import java.util.List;

/**
 * A module compiled once for many short-lived guests (an instance per request): each {@link
 * #instantiate} is a fresh instance, with fresh linear memory, of the same compiled code, with the
 * {@link GuestSpec}'s module, mounts and memory cap and its own argv, environment and in-memory
 * stdio. Instances may run concurrently, each on its caller's thread.
 */
public interface Program extends AutoCloseable {
  /** A fresh guest; run it once, then close it. */
  Guest instantiate(List<String> args, List<String> env, GuestIo io);

  /** Stops every guest of this program that is running now (the container is being killed). */
  void interruptAll();

  /** Frees the compiled code; only once no guest of it runs. */
  @Override
  void close();
}
