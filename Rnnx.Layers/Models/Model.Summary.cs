using System.Globalization;
using System.Text;
using Rnnx.Layers;

namespace Rnnx.Models;

public partial class Model
{
    /// <summary>
    /// Keras's functional summary: one row per layer with its output shape(s), parameter count and the tensors it is
    /// connected to (<c>layer[call][output]</c>, every call of a shared layer), input layers included.
    /// </summary>
    private string FunctionalSummary()
    {
        var functional = _functional!;
        const int width = 98;
        int[] stops = [33, 55, 67];
        var sb = new StringBuilder();
        string line = new('_', width), dline = new('=', width);
        sb.AppendLine(CultureInfo.InvariantCulture, $"Model: \"{Name}\"");
        sb.AppendLine(line);
        AppendRow(sb, stops, [" Layer (type)", "Output Shape", "Param #", "Connected to"]);
        sb.AppendLine(dline);
        var nodesOf = new Dictionary<Layer, List<int>>(ReferenceEqualityComparer.Instance);
        for (int k = 0; k < Graph.Nodes.Count; k++)
        {
            var layer = Graph.Nodes[k].Layer;
            if (!nodesOf.TryGetValue(layer, out var list)) nodesOf[layer] = list = [];
            list.Add(k);
        }
        for (int i = 0; i < _layers.Count; i++)
        {
            var layer = _layers[i];
            string shape;
            var connected = new List<string>();
            if (layer is InputLayer input)
                shape = "[" + BatchShape(input.DeclaredInputShape!) + "]";
            else
            {
                var calls = nodesOf[layer];
                var shapes = calls.Select(k => NodeOutputShapes(k).Select(BatchShape).ToArray()).ToArray();
                shape = shapes.Skip(1).All(s => s.SequenceEqual(shapes[0]))
                    ? (shapes[0].Length == 1 ? shapes[0][0] : "[" + string.Join(",\n", shapes[0]) + "]")
                    : "multiple";
                foreach (int k in calls)
                    foreach (var t in Graph.Nodes[k].Symbolic!.Inputs)
                        connected.Add($"'{t.Layer.Name}[{t.Node.Index}][{t.TensorIndex}]'");
            }
            var shapeLines = shape.Split('\n');
            var connectedLines = connected.Count == 0 ? ["[]"] : connected.Select((c, j) => (j == 0 ? "[" : " ") + c + (j == connected.Count - 1 ? "]" : ",")).ToList();
            int rows = Math.Max(shapeLines.Length, connectedLines.Count);
            for (int r = 0; r < rows; r++)
            {
                string name = r == 0 ? $" {layer.Name} ({layer.GetType().Name})" : "";
                string shapeText = r < shapeLines.Length ? (r == 0 ? "" : " ") + shapeLines[r] : "";
                string pars = r == 0 ? layer.CountParams().ToString(CultureInfo.InvariantCulture) : "";
                AppendRow(sb, stops, [name, shapeText, pars, r < connectedLines.Count ? connectedLines[r] : ""]);
            }
            sb.AppendLine(i == _layers.Count - 1 ? dline : new string(' ', width));
        }
        int total = CountParams(), trainable = TrainableWeights.Sum(p => p.Size);
        sb.AppendLine(CultureInfo.InvariantCulture, $"Total params: {total:N0}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"Trainable params: {trainable:N0}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"Non-trainable params: {total - trainable:N0}");
        sb.Append(line);
        return sb.ToString();
    }

    /// <summary>
    /// A shape with the batch axis as Keras prints it: the fixed batch size when the model has one (an input's
    /// <c>batch_size</c>, or the stateful layers' batch size), else None.
    /// </summary>
    private string BatchShape(int?[] shape) =>
        "(" + string.Join(", ", shape.Prepend(SummaryBatchSize).Select(d => d?.ToString(CultureInfo.InvariantCulture) ?? "None")) + ")";

    /// <summary>The batch size the summary prints: the first layer's fixed batch, else the one all stateful layers share, else null.</summary>
    private int? SummaryBatchSize => BatchSize ?? (StatefulLayers.Select(l => l.BatchSize).Distinct().ToArray() is [int b] ? b : null);

    /// <summary>Keras's print_row: each field padded to its column stop (a long field pushes the next one right).</summary>
    private static void AppendRow(StringBuilder sb, int[] stops, string[] fields)
    {
        var row = new StringBuilder();
        for (int f = 0; f < fields.Length; f++)
        {
            if (f > 0 && row.Length < stops[f - 1]) row.Append(' ', stops[f - 1] - row.Length);
            else if (f > 0) row.Append(' ');
            row.Append(fields[f]);
        }
        sb.AppendLine(row.ToString().TrimEnd());
    }
}
