using System.Text.Json.Nodes;
using Rnnx.Layers;
using Rnnx.Models;

namespace Rnnx.Saving;

/// <summary>
/// The architecture JSON of a functional model, Keras's functional config in Rnnx's layer entries: each layer entry
/// gains <c>inbound_nodes</c>, one list per call of the layer of <c>[layer_name, node_index, tensor_index, {}]</c> inputs
/// (a recurrent layer's initial states follow its input, as Keras 2 writes them); <c>input_layers</c> and
/// <c>output_layers</c> list the model's inputs and outputs as <c>[layer_name, node_index, tensor_index]</c>. Node
/// indices count the calls within the model.
/// </summary>
internal static class FunctionalArchitecture
{
    public const string Format = "rnnx.functional";

    /// <summary>The architecture of a built functional model.</summary>
    public static JsonObject Describe(Model model)
    {
        var functional = model.Functional!;
        var callIndex = new Dictionary<LayerNode, int>(ReferenceEqualityComparer.Instance);
        var calls = new Dictionary<Layer, JsonArray>(ReferenceEqualityComparer.Instance);
        foreach (var input in functional.Inputs)
        {
            callIndex[input.Node] = 0;
            calls[input.Layer] = [];
        }
        JsonArray Ref(SymbolicTensor t) => [t.Layer.Name, callIndex[t.Node], t.TensorIndex];
        foreach (var node in model.Graph.Nodes)
        {
            var symbolic = node.Symbolic!;
            if (!calls.TryGetValue(node.Layer, out var list)) calls[node.Layer] = list = [];
            callIndex[symbolic] = list.Count;
            var inbound = new JsonArray();
            foreach (var t in symbolic.Inputs)
            {
                var r = Ref(t);
                r.Add(new JsonObject());
                inbound.Add(r);
            }
            list.Add(inbound);
        }
        var layers = new JsonArray();
        foreach (var layer in model.Layers)
        {
            var entry = Architecture.LayerEntry(layer);
            entry["inbound_nodes"] = calls[layer];
            layers.Add(entry);
        }
        var frozen = new JsonArray();
        foreach (var (name, p) in model.NamedWeights())
            if (!p.Trainable) frozen.Add(name);
        var o = new JsonObject
        {
            ["format"] = Format,
            ["version"] = Architecture.Version,
            ["name"] = model.Name,
            ["seed"] = model.Seed,
            ["shards"] = model.Shards,
            ["dtype"] = model.DType == DType.Float32 ? "float32" : "float64",
            ["layers"] = layers,
            ["input_layers"] = new JsonArray(functional.Inputs.Select(t => (JsonNode)Ref(t)).ToArray()),
            ["output_layers"] = new JsonArray(functional.Outputs.Select(t => (JsonNode)Ref(t)).ToArray()),
        };
        if (frozen.Count > 0) o["frozen"] = frozen;
        return o;
    }

    /// <summary>
    /// Re-creates the calls between the loaded <paramref name="layers"/> from their <c>inbound_nodes</c> (each call as
    /// soon as its inputs exist) and makes the model. Not built.
    /// </summary>
    /// <exception cref="ModelFormatException">Malformed nodes, unknown references, cycles, or a graph that does not connect.</exception>
    public static Model Connect(JsonObject arch, IReadOnlyList<Layer> layers, string name, int seed)
    {
        var byName = new Dictionary<string, Layer>(StringComparer.Ordinal);
        foreach (var l in layers)
            if (!byName.TryAdd(l.Name, l)) throw new ModelFormatException($"two layers are named '{l.Name}'");
        var la = (JsonArray)arch["layers"]!;
        var pending = new List<(Layer Layer, int Call, JsonArray Inputs)>();
        var tensors = new Dictionary<(string, int, int), SymbolicTensor>();
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            if (la[i] is not JsonObject entry || !entry.TryGetPropertyValue("inbound_nodes", out var nodes) || nodes is not JsonArray calls)
                throw new ModelFormatException($"layer '{layer.Name}': 'inbound_nodes' is missing or not an array");
            if (layer is InputLayer input)
            {
                if (calls.Count != 0) throw new ModelFormatException($"input layer '{layer.Name}' has inbound nodes");
                tensors[(layer.Name, 0, 0)] = new Input(input);
                continue;
            }
            for (int c = 0; c < calls.Count; c++)
                pending.Add((layer, c, calls[c] as JsonArray ?? throw new ModelFormatException($"layer '{layer.Name}': inbound node {c} is not an array")));
        }
        var callsDone = new Dictionary<Layer, int>(ReferenceEqualityComparer.Instance);
        while (pending.Count > 0)
        {
            int before = pending.Count;
            for (int k = 0; k < pending.Count; k++)
            {
                var (layer, call, inputs) = pending[k];
                if (callsDone.GetValueOrDefault(layer) != call) continue;   // a layer's calls in their order
                var refs = inputs.Select(n => Reference(n, $"layer '{layer.Name}' call {call}", expectKwargs: true)).ToArray();
                foreach (var r in refs)
                    if (!byName.ContainsKey(r.Layer)) throw new ModelFormatException($"layer '{layer.Name}' call {call} reads unknown layer '{r.Layer}'");
                if (refs.Length == 0) throw new ModelFormatException($"layer '{layer.Name}' call {call} has no inputs");
                if (!refs.All(r => tensors.ContainsKey(r))) continue;
                var outs = layer.ApplyMany(refs.Select(r => tensors[r]).ToArray());
                for (int t = 0; t < outs.Length; t++) tensors[(layer.Name, call, t)] = outs[t];
                callsDone[layer] = call + 1;
                pending.RemoveAt(k--);
            }
            if (pending.Count == before)
                throw new ModelFormatException(
                    $"the graph has a cycle or reads a tensor no call produces: layer '{pending[0].Layer.Name}' call {pending[0].Call} waits on {pending[0].Inputs.ToJsonString()}");
        }
        SymbolicTensor[] Endpoints(string key)
        {
            if (!arch.TryGetPropertyValue(key, out var n) || n is not JsonArray list || list.Count == 0)
                throw new ModelFormatException($"'{key}' is missing or empty");
            return list.Select(item =>
            {
                var r = Reference(item, key, expectKwargs: false);
                return tensors.TryGetValue(r, out var t) ? t : throw new ModelFormatException($"'{key}' names {item!.ToJsonString()}, which no call produces");
            }).ToArray();
        }
        return new Model(Endpoints("input_layers"), Endpoints("output_layers"), name, seed);
    }

    private static (string Layer, int Call, int Tensor) Reference(JsonNode? node, string where, bool expectKwargs)
    {
        if (node is JsonArray a && a.Count == (expectKwargs ? 4 : 3)
            && a[0] is JsonValue nv && nv.TryGetValue(out string? layer) && layer is not null
            && a[1] is JsonValue cv && cv.TryGetValue(out int call) && call >= 0
            && a[2] is JsonValue tv && tv.TryGetValue(out int tensor) && tensor >= 0
            && (!expectKwargs || a[3] is JsonObject { Count: 0 }))
            return (layer, call, tensor);
        throw new ModelFormatException($"{where}: {node?.ToJsonString() ?? "null"} is not [layer_name, node_index, tensor_index{(expectKwargs ? ", {}" : "")}]");
    }
}
