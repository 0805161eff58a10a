using System.Text.Json;
using System.Text.Json.Nodes;

namespace Rnnx.Saving;

/// <summary>
/// The one way metadata JSON of a model file (architecture, compile settings, training state) is parsed: eagerly and
/// completely, so that every defect surfaces here as a <see cref="ModelFormatException"/>. <see cref="JsonNode"/> parses
/// lazily: duplicate keys (<see cref="ArgumentException"/>) and escaped lone surrogates
/// (<see cref="InvalidOperationException"/>) would otherwise escape later, from whichever code first reads the value.
/// </summary>
internal static class GuardedJson
{
    /// <summary>Parses <paramref name="text"/> into a fully materialized object, refusing duplicate keys, invalid text and deep nesting.</summary>
    /// <param name="text">The JSON text.</param>
    /// <param name="what">What the text is, for messages (<c>the architecture</c>).</param>
    /// <param name="maxDepth">The deepest nesting accepted.</param>
    /// <exception cref="ModelFormatException">Anything but a valid JSON object within the depth.</exception>
    public static JsonObject ParseObject(string text, string what, int maxDepth)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = maxDepth, AllowDuplicateProperties = false });
            Materialize(node);
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{what} is not valid JSON (nesting limit {maxDepth}): {e.Message}", inner: e);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new ModelFormatException($"{what} is not valid JSON: {e.Message}", inner: e);
        }
        return node as JsonObject ?? throw new ModelFormatException($"{what} is not a JSON object");
    }

    /// <summary>Touches every key and string so that lazy decoding errors are raised now, naming the JSON path.</summary>
    private static void Materialize(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, value) in o) Materialize(value);
                break;
            case JsonArray a:
                foreach (var item in a) Materialize(item);
                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                try
                {
                    v.GetValue<string>();
                }
                catch (InvalidOperationException e)
                {
                    throw new ModelFormatException($"the string at {v.GetPath()} is not valid text: {e.Message}", inner: e);
                }
                break;
        }
    }
}
