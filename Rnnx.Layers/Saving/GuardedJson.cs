using System.Text.Json;
using System.Text.Json.Nodes;

namespace Rnnx.Saving;

/// <summary>
/// The one way metadata JSON of a model file (architecture, compile settings, training state) is parsed: validated
/// completely up front, so that every defect surfaces here as a <see cref="ModelFormatException"/>. <see cref="JsonNode"/>
/// decodes lazily: duplicate keys (<see cref="ArgumentException"/>) and escaped lone surrogates
/// (<see cref="InvalidOperationException"/>) would otherwise escape later, from whichever code first reads the value.
/// </summary>
internal static class GuardedJson
{
    /// <summary>Parses <paramref name="text"/> into an object, refusing duplicate keys, invalid text and deep nesting.</summary>
    /// <param name="text">The JSON text.</param>
    /// <param name="what">What the text is, for messages (<c>the architecture</c>).</param>
    /// <param name="maxDepth">The deepest nesting accepted.</param>
    /// <exception cref="ModelFormatException">Anything but a valid JSON object within the depth.</exception>
    public static JsonObject ParseObject(string text, string what, int maxDepth)
    {
        try
        {
            using var doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = maxDepth, AllowDuplicateProperties = false });
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new ModelFormatException($"{what} is not a JSON object");
            // A lone surrogate can only be written as a \u escape, so texts without one need no decoding pass.
            if (text.Contains("\\u", StringComparison.Ordinal)) CheckStrings(doc.RootElement);
            return JsonObject.Create(doc.RootElement.Clone())!;
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{what} is not valid JSON (nesting limit {maxDepth}): {e.Message}", inner: e);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new ModelFormatException($"{what} is not valid JSON: {e.Message}", inner: e);
        }
    }

    /// <summary>Decodes every key and string, so that invalid UTF-16 (a lone surrogate) is refused now.</summary>
    private static void CheckStrings(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject())
                {
                    _ = p.Name;
                    CheckStrings(p.Value);
                }
                break;
            case JsonValueKind.Array:
                foreach (var item in e.EnumerateArray()) CheckStrings(item);
                break;
            case JsonValueKind.String:
                e.GetString();
                break;
        }
    }
}
