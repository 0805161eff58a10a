using System.Text.Json;
using System.Text.Json.Nodes;
using Rnnx.Layers;
using Rnnx.Models;

namespace Rnnx.Saving;

/// <summary>
/// The architecture JSON of a <see cref="Sequential"/> model: name, seed, dtype, shards, input shape, and each layer as
/// <c>{"class", "name", "input_shape", "config"}</c> (nested layers inside configs the same way).
/// </summary>
internal static class Architecture
{
    public const string Format = "rnnx.sequential";
    public const int Version = 1;

    /// <summary>The architecture of a built model (a functional one: see <see cref="FunctionalArchitecture"/>).</summary>
    public static JsonObject Describe(Model model)
    {
        if (model.IsFunctional) return FunctionalArchitecture.Describe(model);
        var layers = new JsonArray();
        foreach (var l in model.Layers) layers.Add(LayerEntry(l));
        var frozen = new JsonArray();
        foreach (var (name, p) in model.NamedWeights())
            if (!p.Trainable) frozen.Add(name);
        var o = new JsonObject
        {
            ["format"] = Format,
            ["version"] = Version,
            ["name"] = model.Name,
            ["seed"] = model.Seed,
            ["shards"] = model.Shards,
            ["dtype"] = model.DType == DType.Float32 ? "float32" : "float64",
            ["input_shape"] = LayerConfig.ShapeToJson(model.InputShape),
            ["layers"] = layers,
        };
        if (frozen.Count > 0) o["frozen"] = frozen;
        return o;
    }

    /// <summary>One layer's entry: class, name, declared input shape and config.</summary>
    public static JsonObject LayerEntry(Layer layer)
    {
        var o = new JsonObject
        {
            ["class"] = LayerRegistry.ClassNameOf(layer),
            ["name"] = layer.Name,
        };
        if (layer.DeclaredInputShape is not null) o["input_shape"] = LayerConfig.ShapeToJson(layer.DeclaredInputShape);
        var config = layer.GetConfig() ?? new LayerConfig();
        // Detach a deep copy so the same config object can be reused by the layer.
        o["config"] = config.ToJson().DeepClone();
        return o;
    }

    /// <summary>Creates a layer from its entry through the registry and gives it its saved name.</summary>
    /// <exception cref="ModelFormatException">Malformed entry, unregistered class, or a failing factory.</exception>
    public static Layer LayerFromEntry(JsonNode? entry, string context)
    {
        if (entry is not JsonObject o) throw new ModelFormatException($"{context}: the layer entry is not a JSON object");
        string cls = Str(o, "class", context);
        string name = Str(o, "name", context);
        if (name.Length == 0) throw new ModelFormatException($"{context}: the layer name is empty");
        string where = $"{context} '{name}' ({cls})";
        var inputShape = o.TryGetPropertyValue("input_shape", out var s) ? LayerConfig.ShapeFromJson(s, $"{where}: input_shape") : null;
        JsonObject cfg = o.TryGetPropertyValue("config", out var c) && c is not null
            ? c as JsonObject ?? throw new ModelFormatException($"{where}: config is not a JSON object")
            : [];
        var layer = LayerRegistry.Create(cls, new LayerConfig(cfg, cls, name, inputShape, where));
        layer.Name = name;
        return layer;
    }

    private static string Str(JsonObject o, string key, string context) =>
        o.TryGetPropertyValue(key, out var n) && n is JsonValue v && v.TryGetValue(out string? s) && s is not null
            ? s
            : throw new ModelFormatException($"{context}: '{key}' is missing or not a string");

    /// <summary>Parses architecture JSON text (see <see cref="GuardedJson"/>).</summary>
    public static JsonObject Parse(string json, ModelLoadOptions options) => GuardedJson.ParseObject(json, "the architecture", options.MaxJsonDepth);

    /// <summary>
    /// Creates and builds the model an architecture describes, without running any initializer: its weights are zeros,
    /// to be assigned from the file. The layer count, names and shards are checked against <paramref name="options"/>,
    /// and every weight against <paramref name="fileValues"/> (the weight values the file holds) before it is allocated.
    /// </summary>
    /// <exception cref="ModelFormatException">Anything that does not describe a buildable model within the limits.</exception>
    public static Model Create(JsonObject arch, ModelLoadOptions options, long fileValues)
    {
        string format = arch.TryGetPropertyValue("format", out var f) && f is JsonValue fv && fv.TryGetValue(out string? fs) ? fs ?? "" : "";
        bool functional = format == FunctionalArchitecture.Format;
        if (!functional && format != Format) throw new ModelFormatException($"the architecture format is '{format}', not '{Format}' or '{FunctionalArchitecture.Format}'");
        int version = Int(arch, "version");
        if (version > Version) throw new ModelFormatException($"the architecture version is {version}, written by a newer Rnnx; this Rnnx reads version {Version}");
        if (version != Version) throw new ModelFormatException($"the architecture version is {version}; this Rnnx reads version {Version}");
        string name = arch.TryGetPropertyValue("name", out var n) && n is JsonValue nv && nv.TryGetValue(out string? ns) && ns is not null ? ns : "sequential";
        CheckName(name, "the model name", options);
        int seed = Int(arch, "seed");
        int shards = Int(arch, "shards");
        if (shards < 1 || shards > options.MaxShards)
            throw new ModelFormatException($"the architecture has shards = {shards}; it must be between 1 and {options.MaxShards} (ModelLoadOptions.MaxShards)");
        string dtypeText = arch.TryGetPropertyValue("dtype", out var d) && d is JsonValue dv && dv.TryGetValue(out string? ds) ? ds ?? "" : "";
        var dtype = dtypeText switch
        {
            "float32" => DType.Float32,
            "float64" => DType.Float64,
            _ => throw new ModelFormatException($"the architecture dtype '{dtypeText}' is not float32 or float64"),
        };
        var inputShape = arch.TryGetPropertyValue("input_shape", out var isn) ? LayerConfig.ShapeFromJson(isn, "the model input_shape") : null;
        if (inputShape is null && !functional) throw new ModelFormatException("the architecture has no input_shape");
        if (!arch.TryGetPropertyValue("layers", out var ln) || ln is not JsonArray la || la.Count == 0)
            throw new ModelFormatException("the architecture has no layers");
        if (la.Count > options.MaxLayers)
            throw new ModelFormatException($"the architecture has {la.Count} layers, above the limit of {options.MaxLayers} (ModelLoadOptions.MaxLayers)");
        var layers = new List<Layer>(la.Count);
        for (int i = 0; i < la.Count; i++)
        {
            var layer = LayerFromEntry(la[i], $"layer {i}");
            CheckNames(layer, $"layer {i}", options);
            layers.Add(layer);
        }

        Model model;
        try
        {
            model = functional ? FunctionalArchitecture.Connect(arch, layers, name, seed) : new Sequential(layers, name, seed);
            model.Shards = shards;
            using (BuildContext.EnterLoad(dtype, new WeightBudget(fileValues, options.MaxParameters)))
                model.Build(inputShape, dtype);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or OverflowException)
        {
            throw new ModelFormatException($"the saved architecture does not build: {e.Message}", inner: e);
        }

        if (arch.TryGetPropertyValue("frozen", out var fr) && fr is not null)
        {
            if (fr is not JsonArray fa) throw new ModelFormatException("'frozen' is not an array of weight names");
            var byName = model.NamedWeights().ToDictionary(w => w.Name, w => w.Parameter);
            foreach (var item in fa)
            {
                if (item is not JsonValue iv || !iv.TryGetValue(out string? wn) || wn is null || !byName.TryGetValue(wn, out var p))
                    throw new ModelFormatException($"'frozen' names {item?.ToJsonString() ?? "null"}, which is not a weight of the model");
                p.Trainable = false;
            }
        }
        return model;
    }

    internal static void CheckNames(Layer layer, string context, ModelLoadOptions options)
    {
        CheckName(layer.Name, $"{context}: the layer name", options);
        foreach (var child in layer.Children) CheckNames(child, context, options);
    }

    internal static void CheckName(string name, string what, ModelLoadOptions options)
    {
        if (name.Length > options.MaxNameLength)
            throw new ModelFormatException($"{what} has {name.Length} characters, above the limit of {options.MaxNameLength} (ModelLoadOptions.MaxNameLength)");
    }

    internal static int Int(JsonObject o, string key) =>
        o.TryGetPropertyValue(key, out var n) && n is JsonValue v && v.TryGetValue(out int i)
            ? i
            : throw new ModelFormatException($"the architecture's '{key}' is missing or not an integer");
}
