package io.krill.oci.image;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * JSON for image documents. Documents are read as trees (so a malformed one gets a message naming
 * the field) and written from trees in a fixed field order, so the same image always has the same
 * digest.
 */
public final class Json {
  static final ObjectMapper MAPPER =
      new ObjectMapper().configure(SerializationFeature.INDENT_OUTPUT, false);

  private Json() {}

  public static ObjectNode object() {
    return MAPPER.createObjectNode();
  }

  public static byte[] bytes(JsonNode node) {
    try {
      return MAPPER.writeValueAsBytes(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  public static String pretty(JsonNode node) {
    try {
      return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  public static JsonNode parse(byte[] bytes, String what) {
    try {
      JsonNode n = MAPPER.readTree(bytes);
      if (n == null || !n.isObject()) {
        throw new IllegalArgumentException(what + " is not a JSON object");
      }
      return n;
    } catch (IOException e) {
      throw new IllegalArgumentException(
          what
              + " is not valid JSON: "
              + (e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()));
    }
  }

  static String text(JsonNode n, String field, String what) {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isTextual()) {
      throw new IllegalArgumentException(what + ": \"" + field + "\" must be a string");
    }
    return v.asText();
  }

  static String required(JsonNode n, String field, String what) {
    String v = text(n, field, what);
    if (v == null || v.isEmpty()) {
      throw new IllegalArgumentException(what + ": \"" + field + "\" is missing");
    }
    return v;
  }

  static List<String> strings(JsonNode n, String field, String what) {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) {
      return List.of();
    }
    if (!v.isArray()) {
      throw new IllegalArgumentException(what + ": \"" + field + "\" must be an array of strings");
    }
    List<String> out = new ArrayList<>();
    v.forEach(e -> out.add(e.asText()));
    return List.copyOf(out);
  }

  static Map<String, String> stringMap(JsonNode n, String field, String what) {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) {
      return Map.of();
    }
    if (!v.isObject()) {
      throw new IllegalArgumentException(what + ": \"" + field + "\" must be an object of strings");
    }
    Map<String, String> out = new LinkedHashMap<>();
    v.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asText()));
    return out;
  }

  static void putStrings(ObjectNode n, String field, List<String> values) {
    if (!values.isEmpty()) {
      values.forEach(n.putArray(field)::add);
    }
  }

  static void putMap(ObjectNode n, String field, Map<String, String> values) {
    if (!values.isEmpty()) {
      ObjectNode o = n.putObject(field);
      new TreeMap<>(values).forEach(o::put);
    }
  }
}
