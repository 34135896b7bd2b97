package io.krill.cri.core;

import io.krill.cri.container.CriContainer;
import io.krill.cri.pod.Pod;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * One name per pod sandbox and per container, as containerd's CRI plugin reserves them: a name is
 * taken before the pod or container exists and given back when it is removed (or when creating it
 * failed), so a kubelet retrying a call that timed out while the first one still runs is refused
 * instead of getting a twin. A stopped pod keeps its name: kubelet runs a new one with the next
 * attempt.
 *
 * <p>Names are containerd's: {@code <pod>_<namespace>_<uid>_<attempt>} for a pod and {@code
 * <container>_<pod>_<namespace>_<uid>_<attempt>} for a container (the attempt being the
 * container's).
 */
final class NameIndex {
  private final Map<String, String> idByName = new HashMap<>();
  private final Map<String, String> nameById = new HashMap<>();

  static String podName(String name, String namespace, String uid, int attempt) {
    return String.join("_", name, namespace, uid, Integer.toUnsignedString(attempt));
  }

  static String podName(Pod p) {
    return podName(p.name(), p.namespace(), p.uid(), p.attempt());
  }

  static String containerName(String name, int attempt, Pod pod) {
    return String.join(
        "_", name, pod.name(), pod.namespace(), pod.uid(), Integer.toUnsignedString(attempt));
  }

  static String containerName(CriContainer c, Pod pod) {
    return containerName(c.name(), c.attempt(), pod);
  }

  /**
   * Reserves {@code name} for {@code id}; empty when it is now (or already was) that id's, else the
   * id holding it.
   */
  synchronized Optional<String> reserve(String name, String id) {
    String holder = idByName.get(name);
    if (holder != null) {
      return holder.equals(id) ? Optional.empty() : Optional.of(holder);
    }
    idByName.put(name, id);
    nameById.put(id, name);
    return Optional.empty();
  }

  synchronized void release(String id) {
    String name = nameById.remove(id);
    if (name != null) {
      idByName.remove(name);
    }
  }
}
