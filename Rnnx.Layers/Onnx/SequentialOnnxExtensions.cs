namespace Rnnx.Models;

/// <summary>
/// ONNX export on <see cref="Sequential"/>: <c>model.ExportOnnx(path)</c> (see <see cref="Onnx.OnnxExporter"/>). Declared in
/// <c>Rnnx.Models</c>, Sequential's namespace, so the member comes with the model without another using.
/// </summary>
public static class SequentialOnnxExtensions
{
    /// <param name="model">The model.</param>
    extension(Sequential model)
    {
        /// <summary>Exports the model to an ONNX file (see <see cref="Onnx.OnnxExporter"/>).</summary>
        /// <param name="path">The .onnx file.</param>
        /// <param name="options">Opset, tensor names, standardization.</param>
        public void ExportOnnx(string path, Onnx.OnnxExportOptions? options = null) => Onnx.OnnxExporter.Export(model, path, options);
    }
}
