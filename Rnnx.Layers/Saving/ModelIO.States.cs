using Rnnx.Layers;
using Rnnx.Models;

namespace Rnnx.Saving;

public static partial class ModelIO
{
    /// <summary>
    /// Prefix of the carried states of stateful recurrent layers in a model file: <c>__states__/lstm/0</c> (h),
    /// <c>__states__/lstm/1</c> (c), each (batch size, units). Saved with every model file, so a checkpoint resumes
    /// a stateful model exactly where it stopped.
    /// </summary>
    public const string StatePrefix = "__states__/";

    /// <summary>The carried states of the model's stateful layers, named for the file.</summary>
    private static IEnumerable<(string Name, Tensor Value)> StateTensors(Model model) =>
        model.StatefulLayers.Where(l => l.BatchSize is not null)
            .SelectMany(l => l.GetStates().Select((t, i) => ($"{StatePrefix}{l.Name}/{i}", t)));

    /// <summary>
    /// Checks the file's state tensors against the model's stateful layers and returns what sets them (zeros for a
    /// file without states, e.g. one written before the layer was stateful). Every state tensor must belong to a layer.
    /// </summary>
    private static Action MatchStates(SafeTensorsFile file, Model model, ModelLoadOptions options)
    {
        var expected = new HashSet<string>(StringComparer.Ordinal);
        var apply = new List<Action>();
        foreach (var layer in model.StatefulLayers.Where(l => l.BatchSize is not null))
        {
            var names = Enumerable.Range(0, layer.Cell.StateSizes.Count).Select(i => $"{StatePrefix}{layer.Name}/{i}").ToArray();
            expected.UnionWith(names);
            int present = names.Count(file.ByName.ContainsKey);
            if (present == 0)
            {
                apply.Add(layer.ResetStates);
                continue;
            }
            if (present != names.Length)
                throw new ModelFormatException($"the file holds only {present} of the {names.Length} states of the stateful layer '{layer.Name}'");
            var entries = new SafeTensorEntry[names.Length];
            for (int i = 0; i < names.Length; i++)
            {
                var e = entries[i] = file.ByName[names[i]];
                var shape = new[] { layer.BatchSize!.Value, layer.Cell.StateSizes[i] };
                if (e.DType != layer.DType || !e.Shape.AsSpan().SequenceEqual(shape))
                    throw new ModelFormatException($"the state tensor '{names[i]}' is {Dt(e.DType)} {ShapeText(e.Shape)}, not {Dt(layer.DType)} {ShapeText(shape)} like the layer's state", offset: 8);
                CheckValues(file, e, "state", options);
            }
            apply.Add(() => layer.SetStates(entries.Select(file.ToTensor).ToArray()));
        }
        foreach (var t in file.Tensors)
            if (t.Name.StartsWith(StatePrefix, StringComparison.Ordinal) && !expected.Contains(t.Name))
                throw new ModelFormatException($"tensor '{t.Name}' is not a state of a stateful layer of the model (an extra tensor)", offset: file.FileOffset(t));
        return () => apply.ForEach(a => a());
    }
}
