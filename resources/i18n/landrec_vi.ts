<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="vi_VN">
<context>
    <name>About</name>
    <message>
        <source>LandRec version</source>
        <translation>Phiên bản LandRec</translation>
    </message>
    <message>
        <source>Python</source>
        <translation>Python</translation>
    </message>
    <message>
        <source>Qt / PySide6</source>
        <translation>Qt / PySide6</translation>
    </message>
    <message>
        <source>Store</source>
        <translation>Cơ sở dữ liệu</translation>
    </message>
    <message>
        <source>not connected</source>
        <translation>chưa kết nối</translation>
    </message>
    <message>
        <source>Store server</source>
        <translation>Máy chủ cơ sở dữ liệu</translation>
    </message>
    <message>
        <source>PostGIS</source>
        <translation>PostGIS</translation>
    </message>
    <message>
        <source>not installed</source>
        <translation>chưa cài đặt</translation>
    </message>
    <message>
        <source>Database</source>
        <translation>Cơ sở dữ liệu</translation>
    </message>
    <message>
        <source>Signed in as</source>
        <translation>Người dùng</translation>
    </message>
    <message>
        <source>Coordinate system</source>
        <translation>Hệ tọa độ</translation>
    </message>
    <message>
        <source>About LandRec</source>
        <translation>Giới thiệu LandRec</translation>
    </message>
    <message>
        <source>Land information system — land-records client</source>
        <translation>Hệ thống thông tin đất đai — phần mềm hồ sơ địa chính</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Đóng</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>LandRec — Land information system</source>
        <extracomment>How often the connection is re-checked (ms). Emitted on the UI thread after each successful summary read. Emitted when reading the summary failed (message). Emitted when the connection state flips (True: connected).</extracomment>
        <translation>LandRec — Hệ thống thông tin đất đai</translation>
    </message>
    <message>
        <source>Connecting…</source>
        <translation>Đang kết nối…</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>&amp;Tệp</translation>
    </message>
    <message>
        <source>&amp;Refresh</source>
        <translation>&amp;Làm mới</translation>
    </message>
    <message>
        <source>Read the store summary again</source>
        <translation>Đọc lại thông tin cơ sở dữ liệu</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>T&amp;hoát</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>&amp;Hiển thị</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>Trợ &amp;giúp</translation>
    </message>
    <message>
        <source>About</source>
        <translation>Giới thiệu</translation>
    </message>
    <message>
        <source>Needs a connection to the store</source>
        <translation>Cần kết nối tới cơ sở dữ liệu</translation>
    </message>
    <message>
        <source>Your account does not have this right</source>
        <translation>Tài khoản của bạn không có quyền này</translation>
    </message>
    <message>
        <source>This command failed: {error}</source>
        <translation>Lệnh không thực hiện được: {error}</translation>
    </message>
    <message>
        <source>User: {user}</source>
        <translation>Người dùng: {user}</translation>
    </message>
    <message>
        <source>Login refused: automatic re-connection stopped so that the account is not locked. Check the account, then press F5.</source>
        <translation>Đăng nhập bị từ chối: đã dừng tự động kết nối lại để tài khoản không bị khóa. Kiểm tra tài khoản rồi nhấn F5.</translation>
    </message>
    <message>
        <source>Connected: {address}</source>
        <translation>Đã kết nối: {address}</translation>
    </message>
    <message>
        <source>Disconnected</source>
        <translation>Mất kết nối</translation>
    </message>
</context>
<context>
    <name>SummaryPanel</name>
    <message>
        <source>Administrative units</source>
        <translation>Đơn vị hành chính</translation>
    </message>
    <message>
        <source>Map sheets</source>
        <translation>Tờ bản đồ</translation>
    </message>
    <message>
        <source>Parcels</source>
        <translation>Thửa đất</translation>
    </message>
    <message>
        <source>Land users and owners</source>
        <translation>Chủ sử dụng đất, chủ sở hữu</translation>
    </message>
    <message>
        <source>Certificates</source>
        <translation>Giấy chứng nhận</translation>
    </message>
    <message>
        <source>Land rights</source>
        <translation>Quyền sử dụng đất</translation>
    </message>
    <message>
        <source>Mutations</source>
        <translation>Biến động</translation>
    </message>
    <message>
        <source>Priced road segments</source>
        <translation>Đoạn đường (bảng giá đất)</translation>
    </message>
    <message>
        <source>Planning zones</source>
        <translation>Khu vực quy hoạch</translation>
    </message>
    <message>
        <source>Inventory periods</source>
        <translation>Kỳ thống kê, kiểm kê</translation>
    </message>
    <message>
        <source>Scanned documents</source>
        <translation>Hồ sơ quét</translation>
    </message>
    <message>
        <source>The map will be shown here</source>
        <translation>Bản đồ sẽ hiển thị ở đây</translation>
    </message>
    <message>
        <source>The map canvas comes in a later version. This is the store you are connected to.</source>
        <translation>Khung bản đồ có trong phiên bản sau. Dưới đây là cơ sở dữ liệu đang kết nối.</translation>
    </message>
    <message>
        <source>Reading the store summary…</source>
        <translation>Đang đọc thông tin cơ sở dữ liệu…</translation>
    </message>
    <message>
        <source>Province</source>
        <translation>Tỉnh</translation>
    </message>
    <message>
        <source>not set</source>
        <translation>chưa khai báo</translation>
    </message>
    <message>
        <source>not set yet</source>
        <translation>chưa khai báo</translation>
    </message>
    <message>
        <source>Coordinate system</source>
        <translation>Hệ tọa độ</translation>
    </message>
    <message>
        <source>not installed</source>
        <translation>chưa cài đặt</translation>
    </message>
    <message>
        <source>Store</source>
        <translation>Cơ sở dữ liệu</translation>
    </message>
    <message>
        <source>{db} on {address} — PostgreSQL {pg}, PostGIS {postgis}</source>
        <translation>{db} tại {address} — PostgreSQL {pg}, PostGIS {postgis}</translation>
    </message>
    <message>
        <source>Records</source>
        <translation>Số bản ghi</translation>
    </message>
    <message>
        <source>no LandRec tables in this database yet</source>
        <translation>cơ sở dữ liệu chưa có bảng nào của LandRec</translation>
    </message>
    <message>
        <source>estimate from the table statistics</source>
        <translation>ước tính theo thống kê của bảng</translation>
    </message>
    <message>
        <source>Cannot read the store: {error}</source>
        <translation>Không đọc được cơ sở dữ liệu: {error}</translation>
    </message>
</context>
</TS>
