package io.krill.shim;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import com.google.protobuf.Timestamp;
import io.krill.containerd.types.Mount;
import io.krill.runtime.TaskSpec;
import java.time.Instant;
import java.util.List;

/** Conversions between containerd's protobuf types and the core's records. */
final class Protos {
  private Protos() {}

  static Timestamp timestamp(Instant t) {
    return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
  }

  /** containerd resolves event and metrics types by bare type URL (1.6 knows no prefixed form). */
  static Any any(Message m) {
    return Any.newBuilder()
        .setTypeUrl(m.getDescriptorForType().getFullName())
        .setValue(m.toByteString())
        .build();
  }

  static List<TaskSpec.RootfsMount> rootfs(List<Mount> mounts) {
    return mounts.stream()
        .map(m -> new TaskSpec.RootfsMount(m.getType(), m.getSource(), m.getOptionsList()))
        .toList();
  }

  static List<Mount> mounts(List<TaskSpec.RootfsMount> mounts) {
    return mounts.stream()
        .map(
            m ->
                Mount.newBuilder()
                    .setType(m.type())
                    .setSource(m.source())
                    .addAllOptions(m.options())
                    .build())
        .toList();
  }
}
