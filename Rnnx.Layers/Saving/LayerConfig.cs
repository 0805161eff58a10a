using System.Text.Json.Nodes;
using Rnnx.Layers;

namespace Rnnx.Saving;

/// <summary>
/// The constructor arguments of a layer as saved in a model file (Keras's layer <c>config</c>): a JSON object of
/// named values. <see cref="Layer.GetConfig"/> fills one with the <c>Set</c> methods when a model is saved; the factory
/// registered with <see cref="LayerRegistry.Register{T}(string, Func{LayerConfig, T})"/> reads it back with the <c>Get</c> methods when the model is
/// loaded. A missing or mistyped value read by a <c>Get</c> method raises a <see cref="ModelFormatException"/> naming
/// the layer and the key.
/// </summary>
/// <example>
/// <code>
/// public override LayerConfig GetConfig() =&gt; new LayerConfig().Set("units", Units).Set("activation", _activation);
/// // once, before loading:
/// LayerRegistry.Register("LNSimpleRNNCell", c =&gt; new LNSimpleRNNCell(c.GetInt("units"), c.GetActivation("activation")));
/// </code>
/// </example>
public sealed class LayerConfig
{
    private readonly JsonObject _values;

    /// <summary>An empty config, to fill with the <c>Set</c> methods.</summary>
    public LayerConfig()
    {
        _values = [];
        Context = "layer";
    }

    internal LayerConfig(JsonObject values, string className, string? name, int?[]? inputShape, string context)
    {
        _values = values;
        ClassName = className;
        Name = name;
        InputShape = inputShape;
        Context = context;
    }

    /// <summary>When loading: the class name the layer was saved under.</summary>
    public string? ClassName { get; }

    /// <summary>When loading: the layer's saved name (the loader also assigns it to the created layer).</summary>
    public string? Name { get; }

    /// <summary>When loading: the input shape the layer declared (without batch), or null; pass it to the constructor's <c>inputShape</c>.</summary>
    public int?[]? InputShape { get; }

    /// <summary>Where this config comes from, for messages (e.g. <c>layer 2 'rnn' (RNN)</c>).</summary>
    internal string Context { get; }

    /// <summary>The keys present.</summary>
    public IEnumerable<string> Keys => _values.Select(p => p.Key);

    /// <summary>An optional integer: null when absent or null.</summary>
    /// <exception cref="ModelFormatException">Present but not an integer.</exception>
    public int? GetIntOrNull(string key) => IsAbsent(key) ? null : GetInt(key);

    /// <summary>Whether <paramref name="key"/> is present.</summary>
    public bool Contains(string key) => _values.ContainsKey(key);

    internal JsonObject ToJson() => _values;

    // ------------------------------------------------------------------ setters

    /// <summary>Sets an integer.</summary>
    public LayerConfig Set(string key, int value) { _values[Check(key)] = value; return this; }

    /// <summary>Sets an optional integer (null is written as null, as Keras writes an unset <c>seed</c>).</summary>
    public LayerConfig Set(string key, int? value) { _values[Check(key)] = value; return this; }

    /// <summary>Sets a number (written so that it reads back bit for bit).</summary>
    public LayerConfig Set(string key, double value)
    {
        if (!double.IsFinite(value)) throw new ArgumentException($"LayerConfig: '{key}' must be finite, got {value}.", nameof(value));
        _values[Check(key)] = value;
        return this;
    }

    /// <summary>Sets a boolean.</summary>
    public LayerConfig Set(string key, bool value) { _values[Check(key)] = value; return this; }

    /// <summary>Sets a string (null is stored as JSON null).</summary>
    public LayerConfig Set(string key, string? value) { _values[Check(key)] = value; return this; }

    /// <summary>Sets an activation by name; a custom activation must be registered with <see cref="LayerRegistry.RegisterActivation"/> to load.</summary>
    public LayerConfig Set(string key, Activation value)
    {
        ArgumentNullException.ThrowIfNull(value);
        _values[Check(key)] = value.Name;
        return this;
    }

    /// <summary>Sets a shape (null dimensions are unknown).</summary>
    public LayerConfig Set(string key, int?[]? shape) { _values[Check(key)] = ShapeToJson(shape); return this; }

    /// <summary>Sets a nested layer (its class, name and config), for wrappers such as <see cref="TimeDistributed"/> or <see cref="RNN"/>'s cell.</summary>
    public LayerConfig Set(string key, Layer layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        _values[Check(key)] = Architecture.LayerEntry(layer);
        return this;
    }

    private static string Check(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return key;
    }

    // ------------------------------------------------------------------ getters

    /// <summary>A required integer.</summary>
    /// <exception cref="ModelFormatException">Missing or not an integer.</exception>
    public int GetInt(string key) => TryGet(key, out int v) ? v : throw Bad(key, "an integer");

    /// <summary>An optional integer.</summary>
    /// <exception cref="ModelFormatException">Present but not an integer.</exception>
    public int GetInt(string key, int defaultValue) => IsAbsent(key) ? defaultValue : GetInt(key);

    /// <summary>A required number.</summary>
    /// <exception cref="ModelFormatException">Missing or not a finite number.</exception>
    public double GetDouble(string key) => TryGet(key, out double v) && double.IsFinite(v) ? v : throw Bad(key, "a finite number");

    /// <summary>An optional number.</summary>
    /// <exception cref="ModelFormatException">Present but not a number.</exception>
    public double GetDouble(string key, double defaultValue) => IsAbsent(key) ? defaultValue : GetDouble(key);

    /// <summary>A required boolean.</summary>
    /// <exception cref="ModelFormatException">Missing or not true/false.</exception>
    public bool GetBool(string key) => TryGet(key, out bool v) ? v : throw Bad(key, "true or false");

    /// <summary>An optional boolean.</summary>
    /// <exception cref="ModelFormatException">Present but not true/false.</exception>
    public bool GetBool(string key, bool defaultValue) => IsAbsent(key) ? defaultValue : GetBool(key);

    /// <summary>A required string.</summary>
    /// <exception cref="ModelFormatException">Missing or not a string.</exception>
    public string GetString(string key) => TryGet(key, out string? v) && v is not null ? v : throw Bad(key, "a string");

    /// <summary>An optional string.</summary>
    /// <exception cref="ModelFormatException">Present but not a string.</exception>
    public string? GetString(string key, string? defaultValue) => IsAbsent(key) ? defaultValue : GetString(key);

    /// <summary>An activation by name (built-in or registered with <see cref="LayerRegistry.RegisterActivation"/>); <paramref name="defaultValue"/> when absent.</summary>
    /// <exception cref="ModelFormatException">Not a string, or an unknown activation.</exception>
    public Activation GetActivation(string key, Activation? defaultValue = null)
    {
        if (IsAbsent(key)) return defaultValue ?? throw Bad(key, "an activation name");
        string name = GetString(key);
        return LayerRegistry.FindActivation(name)
            ?? throw new ModelFormatException($"{Context}: activation '{name}' (config '{key}') is unknown; built-ins are tanh, sigmoid, relu and linear, and a custom one must be registered with LayerRegistry.RegisterActivation before loading");
    }

    /// <summary>A shape, or null when absent or JSON null.</summary>
    /// <exception cref="ModelFormatException">Not an array of positive integers or nulls.</exception>
    public int?[]? GetShape(string key)
    {
        if (IsAbsent(key)) return null;
        return ShapeFromJson(_values[key], $"{Context}: config '{key}'");
    }

    /// <summary>A nested layer saved with <see cref="Set(string, Layer)"/>, created through the registry.</summary>
    /// <exception cref="ModelFormatException">Missing, malformed, or of an unregistered class.</exception>
    public Layer GetLayer(string key)
    {
        if (IsAbsent(key)) throw Bad(key, "a layer");
        return Architecture.LayerFromEntry(_values[key], $"{Context} → '{key}'");
    }

    /// <summary>A nested layer of type <typeparamref name="T"/>.</summary>
    /// <exception cref="ModelFormatException">Missing, malformed, unregistered, or not a <typeparamref name="T"/>.</exception>
    public T GetLayer<T>(string key) where T : Layer =>
        GetLayer(key) as T ?? throw new ModelFormatException($"{Context}: config '{key}' is not a {typeof(T).Name}");

    private bool IsAbsent(string key) => !_values.TryGetPropertyValue(key, out var n) || n is null;

    private bool TryGet<T>(string key, out T value)
    {
        value = default!;
        return _values.TryGetPropertyValue(key, out var n) && n is JsonValue v && v.TryGetValue(out value!);
    }

    private ModelFormatException Bad(string key, string what) =>
        _values.ContainsKey(key)
            ? new ModelFormatException($"{Context}: config '{key}' is not {what} (found {_values[key]?.ToJsonString() ?? "null"})")
            : new ModelFormatException($"{Context}: config '{key}' ({what}) is missing");

    internal static JsonNode? ShapeToJson(int?[]? shape)
    {
        if (shape is null) return null;
        var a = new JsonArray();
        foreach (var d in shape) a.Add(d is int v ? JsonValue.Create(v) : null);
        return a;
    }

    internal static int?[]? ShapeFromJson(JsonNode? node, string what)
    {
        if (node is null) return null;
        if (node is not JsonArray a || a.Count > 8) throw new ModelFormatException($"{what} is not a shape (an array of at most 8 positive integers or nulls)");
        var r = new int?[a.Count];
        for (int i = 0; i < a.Count; i++)
        {
            if (a[i] is null) continue;
            if (a[i] is not JsonValue v || !v.TryGetValue(out int d) || d <= 0)
                throw new ModelFormatException($"{what}: dimension {i} is not a positive integer or null");
            r[i] = d;
        }
        return r;
    }
}
