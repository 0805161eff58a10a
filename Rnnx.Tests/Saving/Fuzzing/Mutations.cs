using System.Buffers.Binary;
using System.Text.Json.Nodes;

namespace Rnnx.Tests.Saving.Fuzzing;

/// <summary>One mutation: its kind and three selectors that pick the target and the new value.</summary>
internal readonly record struct Mutation(int Kind, int A, int B, int C)
{
    public override string ToString() => $"{Mutations.Names[Kind % Mutations.Names.Length]}({A}, {B}, {C})";
}

/// <summary>
/// Structure-aware mutations of a <see cref="FuzzFile"/>: JSON-aware edits of the architecture, compile and training
/// metadata (numbers made huge, negative or fractional, types swapped, keys removed or duplicated, deep nesting, lone
/// surrogates, long names, many layers), targeted values (units, shards, optimizer state, shuffle state), tensor-table
/// edits (shape, dtype, offsets, names), data values (NaN, infinities, huge), format and version, truncation and
/// trailing bytes. Layer counts stop just above the default limit: the 100,000-layer file (above the header limit)
/// is a regression test, too slow to generate thousands of times.
/// </summary>
internal static class Mutations
{
    public static readonly string[] Names =
    [
        "Number", "SwapType", "RemoveKey", "DuplicateKey", "DeepNesting", "LoneSurrogate", "LongName", "ManyLayers",
        "Shape", "DType", "Offsets", "RemoveOrRenameTensor", "DataValue", "FormatVersion", "Truncate", "Trailing",
        "OptimizerState", "ShuffleState", "Shards", "SizeBomb",
    ];

    private static readonly string[] Docs = ["rnnx.architecture", "rnnx.compile", "rnnx.training"];

    private static readonly double[] Numbers =
        [0, -1, -5, 0.5, -0.0, 1, 2, 65536, 100000, 2147483647, 2147483648, -2147483648, 1431655766, 536870913, 9223372036854775807, 1e300, -1e300, 3e38, 1e-320];

    private static readonly JsonNode?[] Swaps = [null, "x", "", true, 0, new JsonArray(), new JsonObject(), new JsonArray(1, 2), "NaN"];

    public static void Apply(FuzzFile f, Mutation m)
    {
        switch (m.Kind % Names.Length)
        {
            case 0: EditJson(f, m, (node, parent, key) => Replace(parent, key, JsonValue.Create(Numbers[Index(m.C, Numbers.Length)])), n => n is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number); break;
            case 1: EditJson(f, m, (node, parent, key) => Replace(parent, key, Swaps[Index(m.C, Swaps.Length)]?.DeepClone()), _ => true); break;
            case 2: EditJson(f, m, (node, parent, key) => { if (parent is JsonObject o && key is string k) o.Remove(k); else if (parent is JsonArray a && key is int i) a.RemoveAt(i); }, _ => true); break;
            case 3: EditText(f, m, DuplicateKey); break;
            case 4: EditJson(f, m, (node, parent, key) => Replace(parent, key, Nested(new[] { 20, 65, 70, 200, 3000 }[Index(m.C, 5)])), _ => true); break;
            case 5: EditText(f, m, LoneSurrogate); break;
            case 6: SetArchitecture(f, m, a => Rename(a, m.B, new string('n', new[] { 257, 300, 5000, 100_000 }[Index(m.C, 4)]))); break;
            case 7: SetArchitecture(f, m, a => ManyLayers(a, new[] { 2, 3, 50, 200, 1000, 10_001 }[Index(m.C, 6)])); break;
            case 8: Shape(f, m); break;
            case 9: DType(f, m); break;
            case 10: Offsets(f, m); break;
            case 11: RemoveOrRename(f, m); break;
            case 12: DataValue(f, m); break;
            case 13: FormatVersion(f, m); break;
            case 14: f.TruncateAt = Index(m.B, 4096); break;
            case 15: f.Trailing = new byte[new[] { 1, 4, 8, 1000 }[Index(m.C, 4)]]; break;
            case 16: SetJson(f, "rnnx.compile", c => OptimizerState(c, m)); break;
            case 17: SetJson(f, "rnnx.training", t => ShuffleState(t, m)); break;
            case 18: SetArchitecture(f, m, a => a["shards"] = new[] { 0, -1, 3, 256, 257, 65536, 2147483647 }[Index(m.C, 7)]); break;
            case 19: SetArchitecture(f, m, a => SizeBomb(a, m)); break;
        }
    }

    private static int Index(int selector, int count) => (int)((uint)selector % (uint)count);

    // ------------------------------------------------------------------ JSON documents in the metadata

    private static void EditJson(FuzzFile f, Mutation m, Action<JsonNode?, JsonNode?, object?> edit, Func<JsonNode?, bool> eligible)
    {
        string doc = Docs[Index(m.A, Docs.Length)];
        SetJson(f, doc, root =>
        {
            var nodes = new List<(JsonNode? Node, JsonNode? Parent, object? Key)>();
            Collect(root, null, null, nodes);
            var targets = nodes.Where(n => n.Parent is not null && eligible(n.Node)).ToList();
            if (targets.Count == 0) return;
            var (node, parent, key) = targets[Index(m.B, targets.Count)];
            edit(node, parent, key);
        });
    }

    private static void SetJson(FuzzFile f, string doc, Action<JsonObject> edit)
    {
        if (!f.Metadata.TryGetValue(doc, out var text)) return;
        try
        {
            if (JsonNode.Parse(text) is not JsonObject root) return;
            edit(root);
            f.Metadata[doc] = root.ToJsonString();
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or ArgumentException or InvalidOperationException)
        {
            // An earlier mutation already made this document invalid JSON: it stays as it is.
        }
    }

    private static void SetArchitecture(FuzzFile f, Mutation m, Action<JsonObject> edit) => SetJson(f, "rnnx.architecture", edit);

    private static void Collect(JsonNode? node, JsonNode? parent, object? key, List<(JsonNode?, JsonNode?, object?)> into)
    {
        into.Add((node, parent, key));
        if (node is JsonObject o)
            foreach (var (k, v) in o.ToList()) Collect(v, o, k, into);
        else if (node is JsonArray a)
            for (int i = 0; i < a.Count; i++) Collect(a[i], a, i, into);
    }

    private static void Replace(JsonNode? parent, object? key, JsonNode? value)
    {
        if (parent is JsonObject o && key is string k) o[k] = value;
        else if (parent is JsonArray a && key is int i) a[i] = value;
    }

    private static JsonNode Nested(int depth)
    {
        JsonNode n = new JsonArray();
        for (int i = 1; i < depth; i++) n = new JsonArray(n);
        return n;
    }

    private static void EditText(FuzzFile f, Mutation m, Func<string, int, string> edit)
    {
        string doc = Docs[Index(m.A, Docs.Length)];
        if (f.Metadata.TryGetValue(doc, out var text)) f.Metadata[doc] = edit(text, m.B);
    }

    /// <summary>Writes one key twice (<c>"units":1,"units":2</c>): System.Text.Json's nodes only notice on first access.</summary>
    private static string DuplicateKey(string text, int selector)
    {
        var keys = AllIndexes(text, "\":").ToList();
        if (keys.Count == 0) return text;
        int end = keys[Index(selector, keys.Count)];
        int start = text.LastIndexOf('"', end - 1);
        if (start < 0) return text;
        string key = text[start..(end + 2)];
        return text[..start] + key + "0," + text[start..];
    }

    /// <summary>Replaces the first character of a key or string with an escaped lone surrogate.</summary>
    private static string LoneSurrogate(string text, int selector)
    {
        var quotes = AllIndexes(text, "\"").ToList();
        if (quotes.Count == 0) return text;
        int at = quotes[Index(selector, quotes.Count)];
        return text[..(at + 1)] + "\\ud800" + text[(at + 1)..];
    }

    private static IEnumerable<int> AllIndexes(string text, string what)
    {
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + 1, StringComparison.Ordinal)) yield return i;
    }

    private static void Rename(JsonObject arch, int selector, string name)
    {
        if (arch["layers"] is JsonArray layers && layers.Count > 0 && Index(selector, 2) == 0 && layers[Index(selector, layers.Count)] is JsonObject l) l["name"] = name;
        else arch["name"] = name;
    }

    private static void ManyLayers(JsonObject arch, int count)
    {
        if (arch["layers"] is not JsonArray layers || layers.Count == 0 || layers[0] is not JsonObject first) return;
        var many = new JsonArray();
        for (int i = 0; i < count; i++)
        {
            var copy = (JsonObject)first.DeepClone();
            copy["name"] = $"l{i}";
            copy.Remove("input_shape");
            many.Add(copy);
        }
        arch["layers"] = many;
    }

    private static void SizeBomb(JsonObject arch, Mutation m)
    {
        int[] sizes = [2000, 100000, 1431655766, 536870913, 2147483647];
        int size = sizes[Index(m.C, sizes.Length)];
        if (Index(m.B, 3) == 0 && arch["input_shape"] is JsonArray shape && shape.Count > 0)
        {
            shape[shape.Count - 1] = size;
            return;
        }
        var configs = new List<JsonObject>();
        var nodes = new List<(JsonNode?, JsonNode?, object?)>();
        Collect(arch, null, null, nodes);
        foreach (var (node, _, _) in nodes)
            if (node is JsonObject o && (o.ContainsKey("units") || o.ContainsKey("filters") || o.ContainsKey("kernel_size"))) configs.Add(o);
        if (configs.Count == 0) return;
        var c = configs[Index(m.A, configs.Count)];
        string key = c.ContainsKey("units") ? "units" : Index(m.B, 2) == 0 && c.ContainsKey("kernel_size") ? "kernel_size" : "filters";
        c[key] = size;
    }

    // ------------------------------------------------------------------ optimizer and training state

    private static void OptimizerState(JsonObject compile, Mutation m)
    {
        switch (Index(m.B, 8))
        {
            case 0: compile["optimizer_state"] = Swaps[Index(m.C, Swaps.Length)]?.DeepClone(); break;
            case 1: if (compile["optimizer_state"] is JsonObject s) s["iterations"] = new[] { -1L, long.MaxValue, (1L << 53) + 1, 1L << 53, 0 }[Index(m.C, 5)]; break;
            case 2: if (compile["optimizer_state"]?["scalars"] is JsonObject sc && sc.Count > 0) sc[sc.First().Key] = new[] { -1.0, 2.0, 1e300, 0.0 }[Index(m.C, 4)]; break;
            case 3: if (compile["optimizer_state"] is JsonObject s3) s3["scalars"] = Swaps[Index(m.C, Swaps.Length)]?.DeepClone(); break;
            case 4: if (compile["optimizer_state"] is JsonObject s4) s4["slots"] = new JsonArray("momentum", "momentum"); break;
            case 5: if (compile["optimizer_state"] is JsonObject s5) s5["learning_rate"] = Numbers[Index(m.C, Numbers.Length)]; break;
            case 6: if (compile["optimizer"] is JsonObject o) o[Index(m.C, 2) == 0 ? "class" : "beta_1"] = Swaps[Index(m.C, Swaps.Length)]?.DeepClone(); break;
            case 7: compile["extra"] = 1; break;
        }
    }

    private static void ShuffleState(JsonObject training, Mutation m)
    {
        switch (Index(m.B, 5))
        {
            case 0: training["shuffle_rng"] = Swaps[Index(m.C, Swaps.Length)]?.DeepClone(); break;
            case 1: if (training["shuffle_rng"] is JsonObject r) r["key"] = Convert.ToBase64String(new byte[Index(m.C, 5000)]); break;
            case 2: if (training["shuffle_rng"] is JsonObject r2) r2["pos"] = Numbers[Index(m.C, Numbers.Length)]; break;
            case 3: if (training["shuffle_rng"] is JsonObject r3) r3["gauss"] = Numbers[Index(m.C, Numbers.Length)]; break;
            case 4: training["epoch"] = Numbers[Index(m.C, Numbers.Length)]; break;
        }
    }

    // ------------------------------------------------------------------ tensor table and data

    private static FuzzFile.Item? Pick(FuzzFile f, int selector) => f.Tensors.Count == 0 ? null : f.Tensors[Index(selector, f.Tensors.Count)];

    /// <summary>Changes one dimension; for small results the data is resized too, so the table stays consistent and the defect reaches the model checks.</summary>
    private static void Shape(FuzzFile f, Mutation m)
    {
        if (Pick(f, m.A) is not { } t || t.Shape is not JsonArray shape) return;
        int[] dims = [0, 1, 2, 3, 7, 65536, 2147483647, -1];
        int d = dims[Index(m.C, dims.Length)];
        if (shape.Count == 0 || Index(m.B, 4) == 0) shape.Add(d);
        else shape[Index(m.B, shape.Count)] = d;
        double elements = 1;
        foreach (var n in shape) elements *= Math.Max(0, n!.GetValue<int>());
        int size = t.DType == "F64" ? 8 : 4;
        if (elements * size <= 4096) t.Data = new byte[(int)elements * size];
    }

    private static void DType(FuzzFile f, Mutation m)
    {
        if (Pick(f, m.A) is not { } t) return;
        string[] types = ["F32", "F64", "F16", "I32", "BOOL", "Q7"];
        string to = types[Index(m.C, types.Length)];
        if (Index(m.B, 2) == 0 && t.DType != to && to is "F32" or "F64")
        {
            int count = t.Data.Length / (t.DType == "F64" ? 8 : 4);
            var data = new byte[count * (to == "F64" ? 8 : 4)];
            for (int i = 0; i < count; i++)
            {
                double v = t.DType == "F64" ? BinaryPrimitives.ReadDoubleLittleEndian(t.Data.AsSpan(i * 8)) : BinaryPrimitives.ReadSingleLittleEndian(t.Data.AsSpan(i * 4));
                if (to == "F64") BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(i * 8), v);
                else BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(i * 4), (float)v);
            }
            t.Data = data;
        }
        t.DType = to;
    }

    private static void Offsets(FuzzFile f, Mutation m)
    {
        if (Pick(f, m.A) is not { } t) return;
        long[] values = [0, 1, 4, -1, 1L << 31, long.MaxValue, 2_000_000_000];
        long begin = f.Tensors.TakeWhile(x => x != t).Sum(x => (long)x.Data.Length);
        var offsets = new JsonArray(begin, begin + t.Data.Length);
        offsets[Index(m.B, 2)] = values[Index(m.C, values.Length)];
        t.RawOffsets = Index(m.B, 5) == 0 ? new JsonArray(begin) : offsets;
    }

    private static void RemoveOrRename(FuzzFile f, Mutation m)
    {
        if (Pick(f, m.A) is not { } t) return;
        switch (Index(m.B, 3))
        {
            case 0: f.Tensors.Remove(t); break;
            case 1: t.Name = t.Name + "x"; break;
            case 2: t.Name = Pick(f, m.C)!.Name; break;
        }
    }

    private static void DataValue(FuzzFile f, Mutation m)
    {
        if (Pick(f, m.A) is not { } t || t.Data.Length == 0) return;
        double[] values = [double.NaN, double.PositiveInfinity, double.NegativeInfinity, 3e38, -3e38, 1e31, 1e-40, -0.0];
        double v = values[Index(m.C, values.Length)];
        var data = (byte[])t.Data.Clone();
        if (t.DType == "F64") BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(Index(m.B, data.Length / 8) * 8), v);
        else BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(Index(m.B, data.Length / 4) * 4), (float)v);
        t.Data = data;
    }

    private static void FormatVersion(FuzzFile f, Mutation m)
    {
        string key = Index(m.B, 2) == 0 ? "rnnx.format" : "rnnx.version";
        string?[] values = key == "rnnx.format" ? ["model", "weights", "x", "", null] : ["1", "2", "0", "-1", "1.0", "x", null];
        string? v = values[Index(m.C, values.Length)];
        if (v is null) f.Metadata.Remove(key);
        else f.Metadata[key] = v;
    }
}
