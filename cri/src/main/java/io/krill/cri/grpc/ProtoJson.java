package io.krill.cri.grpc;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A CRI message as containerd's verbose status shows it (Go's encoding/json of the generated
 * structs): proto field names, unset fields left out, enums as numbers, maps as objects.
 */
final class ProtoJson {
  private static final ObjectMapper JSON = new ObjectMapper();

  private ProtoJson() {}

  static String of(Message m) {
    try {
      return JSON.writeValueAsString(map(m));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  static Map<String, Object> map(Message m) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (Map.Entry<FieldDescriptor, Object> e : m.getAllFields().entrySet()) {
      FieldDescriptor f = e.getKey();
      if (f.isMapField()) {
        Map<String, Object> entries = new LinkedHashMap<>();
        for (Object o : (List<?>) e.getValue()) {
          Message entry = (Message) o;
          FieldDescriptor k = entry.getDescriptorForType().findFieldByName("key");
          FieldDescriptor v = entry.getDescriptorForType().findFieldByName("value");
          entries.put(String.valueOf(entry.getField(k)), value(v, entry.getField(v)));
        }
        out.put(f.getName(), entries);
      } else if (f.isRepeated()) {
        List<Object> items = new ArrayList<>();
        for (Object o : (List<?>) e.getValue()) {
          items.add(value(f, o));
        }
        out.put(f.getName(), items);
      } else {
        out.put(f.getName(), value(f, e.getValue()));
      }
    }
    return out;
  }

  private static Object value(FieldDescriptor f, Object v) {
    return switch (f.getJavaType()) {
      case MESSAGE -> map((Message) v);
      case ENUM -> ((com.google.protobuf.Descriptors.EnumValueDescriptor) v).getNumber();
      case BYTE_STRING -> Base64.getEncoder().encodeToString(((ByteString) v).toByteArray());
      default -> v;
    };
  }
}
