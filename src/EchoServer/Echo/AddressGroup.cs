using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace EchoServer.Echo;

/// <summary>
/// The unit --max-connections-per-address counts: one IPv4 address, or one IPv6 /64 (the prefix one host or one
/// customer line is given, so a client cannot dodge the limit by walking its own /64). An IPv4-mapped IPv6 address
/// counts as the IPv4 address it carries.
/// </summary>
internal readonly record struct AddressGroup(ulong Prefix, ulong Host)
{
    /// <summary>The group of <paramref name="peer"/>; null for a peer with no IP address (a unix-socket client).</summary>
    public static AddressGroup? Of(IPEndPoint? peer)
    {
        if (peer is null)
        {
            return null;
        }

        var address = peer.Address.IsIPv4MappedToIPv6 ? peer.Address.MapToIPv4() : peer.Address;
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        return address.AddressFamily == AddressFamily.InterNetwork
            ? new AddressGroup(0, BinaryPrimitives.ReadUInt32BigEndian(bytes))
            : new AddressGroup(BinaryPrimitives.ReadUInt64BigEndian(bytes), ulong.MaxValue);
    }

    /// <summary>The address, or the /64 prefix, as text (for logs).</summary>
    public override string ToString()
    {
        if (Host != ulong.MaxValue)
        {
            var v4 = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(v4, (uint)Host);
            return new IPAddress(v4).ToString();
        }

        var v6 = new byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(v6, Prefix);
        return $"{new IPAddress(v6)}/64";
    }
}
