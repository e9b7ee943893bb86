namespace Demi.Transport.Xdp;

/// <summary>How the XDP program that feeds an AF_XDP socket is attached to the interface.</summary>
public enum XdpMode
{
    /// <summary>Native (driver) mode, falling back to generic mode if the driver refuses.</summary>
    Auto,
    /// <summary>Native (driver) mode only: XDP_FLAGS_DRV_MODE.</summary>
    Native,
    /// <summary>Generic (SKB) mode only: XDP_FLAGS_SKB_MODE, slower, works on any interface.</summary>
    Generic,
}
